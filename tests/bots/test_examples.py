"""Each example bot, run as its own process for 100 ticks against a real server with the
house and the retail flow on, meets its role's requirement (docs/scoring.md) and gets
no refusal it does not handle (it would exit 1)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from tradepit import Client
from tradepit.models import Score

from tests.e2e.server import ROOT, running_server

TICKS = 100
PRE_OPEN, AUCTION = 8, 1
CONFIG = f"""
[schedule]
tick_seconds = 1.0  # the demo profile's tick: the market maker needs its 10 quotes a tick
pre_open_ticks = {PRE_OPEN}
auction_ticks = {AUCTION}
"""
BOTS = {"market_maker": "market_maker", "hedge_fund": "hedge_fund",
        "arbitrage": "arbitrage", "retail": "retail"}  # fmt: skip


async def scores(url: str, keys: dict[str, Path]) -> dict[str, Score]:
    out = {}
    for role, key_file in keys.items():
        async with Client(url) as client:
            await client.load_or_register(key_file, f"never-{role}", role)
            out[role] = await client.score()
    return out


@pytest.mark.slow
def test_each_example_bot_meets_its_kpi(tmp_path: Path) -> None:
    with running_server(tmp_path, config=CONFIG) as server:
        keys = {role: tmp_path / f"{role}.key" for role in BOTS}
        procs = {
            role: subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    f"tradepit.examples.{module}",
                    "--url",
                    server.url,
                    "--name",
                    f"ex-{role}",
                    "--key-file",
                    str(keys[role]),
                    "--ticks",
                    str(TICKS),
                    "--seed",
                    "5",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for role, module in BOTS.items()
        }
        outputs = {}
        try:
            for role, proc in procs.items():
                out, _ = proc.communicate(timeout=240)
                outputs[role] = out.decode()
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        for role, proc in procs.items():
            assert proc.returncode == 0, f"{role}:\n{outputs[role]}"
        got = asyncio.run(scores(server.url, keys))

    first_kpi_tick = PRE_OPEN + AUCTION + 1
    for role, score in got.items():
        assert score.trades > 0, outputs[role]  # each really trades
    mm, hf, arb = got["market_maker"], got["hedge_fund"], got["arbitrage"]
    assert hf.series is not None
    assert arb.series is not None
    deltas = [
        d for t, d in zip(hf.series.tick, hf.series.delta, strict=True) if t >= first_kpi_tick
    ]
    kpi_ticks = sum(1 for t in arb.series.tick if t >= first_kpi_tick)
    kpis = {
        "market maker uptime": mm.kpis["uptime"],
        "hedge fund ticks within 50 deltas": sum(1 for d in deltas if abs(d or 0) <= 50)
        / len(deltas),
        "arbitrage ticks in balance": 1 - arb.kpis["balance_breaches"] / kpi_ticks,
    }
    assert all(v >= bar for v, bar in zip(kpis.values(), (0.8, 0.9, 0.9), strict=True)), (
        kpis,
        outputs,
    )
    print(f"\nexample bots over {TICKS} ticks: {kpis}")
    print({role: (score.score, score.pnl, score.penalties) for role, score in got.items()})
