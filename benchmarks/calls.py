"""``./scripts/bench calls``: Python function calls per ``POST /orders`` in the gateway.

Time on this machine drifts (``bench regress`` saw ``wrk``'s rate move 1.6x between
consecutive rounds), calls do not: the same code making the same answers makes nearly
the same calls. A baseline commit's gateway and this checkout's each take ``wrk``'s
orders (16 connections, 8 s) while a profile hook counts every Python call of the
gateway's main thread (``_calls_site/sitecustomize.py``, switched on and off by
SIGUSR1). Figures: calls per order of each, their ratio, and the functions whose calls
per order changed most. Compiled code (the mypyc core, msgspec, the kernel) makes no
Python calls, so this says where Python work was added, not what it costs; ``bench
regress`` says that. The baseline is ``59dd160``, the commit issue 14 measured before
its stream work; ``TRADEPIT_CALLS_BASELINE=REV`` names another.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks import e2e, regress
from benchmarks._support import checkout

BASELINE = "59dd160"
SITE = Path(__file__).parent / "_calls_site"
#: How many of the most changed functions the table shows.
TOP = 15


def count(tmp: Path, tree: Path | None, name: str, seconds: int) -> tuple[int, Counter[str]]:
    """Orders answered and calls per function while ``wrk`` ran, in one gateway."""
    out = tmp / f"{name}-calls"
    env = {"TRADEPIT_CALLS_OUT": str(out), "PYTHONPATH": _path(tree)}
    procs: list[subprocess.Popen[bytes]] = []
    config = regress.config_for(tree)
    with e2e.cluster(tmp, config, name=name, procs=procs, tree=tree, gateway_env=env) as url:
        key = e2e.register(url, "wrk-bot", "market_maker")
        script = tmp / f"{name}.lua"
        script.write_text(e2e.wrk_script(url, key))
        gateway = procs[1].pid
        os.kill(gateway, signal.SIGUSR1)
        report = e2e.wrk_report(f"{url}/orders", script, seconds)
        os.kill(gateway, signal.SIGUSR1)
        calls = written_counts(out, gateway, tree)
    match = re.search(r"(\d+) requests in", report)
    assert match is not None, report
    return int(match.group(1)), calls


def written_counts(out: Path, gateway: int, tree: Path | None) -> Counter[str]:
    """The calls per function that ``gateway`` writes at its second SIGUSR1 (waited for),
    keyed by ``_short`` names so that both arms share them."""
    written = Path(f"{out}.{gateway}.json")
    deadline = time.monotonic() + 60
    while not written.exists():
        assert time.monotonic() < deadline, "the gateway wrote no counts"
        time.sleep(0.1)
    raw: dict[str, int] = json.loads(written.read_text())
    written.unlink()
    prefix = f"{tree}/" if tree is not None else f"{Path.cwd()}/"
    counts: Counter[str] = Counter()
    for where, n in raw.items():
        counts[_short(where, prefix)] += n
    return counts


def _path(tree: Path | None) -> str:
    """The gateway's PYTHONPATH: the counting hook first, then the tree's sources."""
    return os.pathsep.join([str(SITE), *([str(tree)] if tree is not None else [])])


def _short(where: str, prefix: str) -> str:
    """A file path from the tree or the libraries as a module-ish name that both arms share."""
    where = where.removeprefix(prefix)
    return re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", where)


def run(quick: bool) -> dict[str, object]:
    seconds = 3 if quick else 8
    baseline = os.environ.get("TRADEPIT_CALLS_BASELINE", BASELINE)
    per_order: dict[str, dict[str, float]] = {}
    totals: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tradepit-calls-") as name:
        tmp = Path(name)
        arms = {"baseline": checkout(baseline, tmp), "ours": None}
        for arm, tree in arms.items():
            orders, calls = count(tmp, tree, arm, seconds)
            per_order[arm] = {where: n / orders for where, n in calls.items()}
            totals[arm] = sum(calls.values()) / orders
            print(f"{arm}: {orders} orders, {totals[arm]:.1f} Python calls per order", flush=True)
    base, ours = per_order["baseline"], per_order["ours"]
    changed = sorted(set(base) | set(ours), key=lambda w: -abs(ours.get(w, 0) - base.get(w, 0)))
    print(f"\n{'baseline':>9} {'ours':>9}  calls per order, the most changed first")
    print(" " * 21 + "(a module moved since the baseline shows twice)")
    for where in changed[:TOP]:
        print(f"{base.get(where, 0):9.2f} {ours.get(where, 0):9.2f}  {where}")
    ratio = round(totals["ours"] / totals["baseline"], 3)
    print(f"\nratio ours / baseline: {ratio}")
    return {
        "baseline": baseline,
        "baseline_calls_per_order": round(totals["baseline"], 1),
        "ours_calls_per_order": round(totals["ours"], 1),
        "ratio_calls_per_order": ratio,
    }
