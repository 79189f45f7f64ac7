"""``./scripts/bench regress``: has the order path slowed down since a baseline commit?

Absolute figures drift 2x between days on this machine (``bench e2e``'s ack p99 was
3.6 ms on one quiet day and 9.9 ms on another, for code that had not changed the
order path), so a regression is only visible against a baseline measured in the same
run. The baseline commit's sources are extracted with ``git archive`` and its core
compiled like this checkout's (``_support.checkout``); then, in rounds that alternate
which goes first, each starts its own engine and gateway (``e2e.cluster``) and is
measured the way ``bench e2e`` measures:

- ``POST /orders`` from ``wrk`` (16 connections, 8 s), and the gateway's CPU per order
  over that time (the gateway is the bottleneck: ~0.95 of a core under ``wrk``);
- ack and counterparty-fill latencies of 1,000 crossing rounds (``e2e.latencies``).

Medians over the rounds, and this checkout's medians as ratios to the baseline's. The
baseline is ``59dd160``, the commit issue 14 measured before its stream work;
``TRADEPIT_REGRESS_BASELINE=REV`` names another.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks import e2e
from benchmarks._support import checkout
from benchmarks.scale import Cpu

BASELINE = "59dd160"
#: Sections of ``e2e.CONFIG`` that a baseline may predate (its config refuses unknown ones).
NEWER_SECTIONS = ("price_limits",)


def config_for(tree: Path | None) -> str:
    """``e2e.CONFIG`` without the sections ``tree``'s config does not know."""
    text = e2e.CONFIG
    if tree is None:
        return text
    known = (tree / "engine" / "config.py").read_text()
    for section in NEWER_SECTIONS:
        if section not in known:
            head = text.index(f"[{section}]")
            end = text.index("\n[", head + 1) + 1
            text = text[:head] + text[end:]
    return text


def measure(tmp: Path, tree: Path | None, name: str) -> dict[str, float]:
    procs: list[subprocess.Popen[bytes]] = []
    with e2e.cluster(tmp, config_for(tree), name=name, procs=procs, tree=tree) as url:
        key = e2e.register(url, "wrk-bot", "market_maker")
        script = tmp / f"{name}.lua"
        script.write_text(e2e.wrk_script(url, key))
        cpu = Cpu({"gateway": procs[1].pid})
        rate = e2e.wrk(f"{url}/orders", script)
        share = cpu.shares()["gateway"]
        maker = e2e.register(url, "lat-maker", "market_maker")
        taker = e2e.register(url, "lat-taker", "hedge_fund")
        acks, fills = asyncio.run(e2e.latencies(url, maker, taker, 400, 1000))
    return {
        "orders_per_s": rate,
        "gateway_cpu_ms_per_order": 1000 * share / rate,
        "ack_p50_ms": e2e.pct(acks, 0.5),
        "ack_p99_ms": e2e.pct(acks, 0.99),
        "fill_report_p50_ms": e2e.pct(fills, 0.5),
        "fill_report_p99_ms": e2e.pct(fills, 0.99),
    }


def run(quick: bool) -> dict[str, object]:
    rounds = 2 if quick else 5
    baseline = os.environ.get("TRADEPIT_REGRESS_BASELINE", BASELINE)
    figures: dict[str, object] = {"baseline": baseline, "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="tradepit-regress-") as name:
        tmp = Path(name)
        arms: dict[str, Path | None] = {"baseline": checkout(baseline, tmp), "ours": None}
        rows: dict[str, list[dict[str, float]]] = {arm: [] for arm in arms}
        for number in range(rounds):
            order = list(arms) if number % 2 == 0 else list(arms)[::-1]
            for arm in order:
                row = measure(tmp, arms[arm], f"{arm}-{number}")
                rows[arm].append(row)
                print(arm, {k: round(v, 2) for k, v in row.items()}, flush=True)
    for arm, measured in rows.items():
        for key in measured[0]:
            figures[f"{arm}_{key}"] = round(statistics.median(r[key] for r in measured), 3)
    for key in rows["ours"][0]:
        ours, base = figures[f"ours_{key}"], figures[f"baseline_{key}"]
        assert isinstance(ours, float)
        assert isinstance(base, float)
        figures[f"ratio_{key}"] = round(ours / base, 2)
    for key, value in figures.items():
        print(f"{key:<40}{value:>12}")
    return figures
