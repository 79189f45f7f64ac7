"""``tradepit ladder``: six bots (the four examples, one that crashes at tick 3, one that
spins forever) run 30 heats unattended; the two bad bots lose every heat with their
reasons, every heat replays byte for byte, and the ratings recomputed from the stored
heats are the table the runner kept. A heat here is 8 continuous ticks (3-5 s on a
2-core machine, most of it the server's and the bots' start-up); each heat's session is
re-executed in this process (``engine.replay.verify``, what ``tradepit replay verify``
runs), which saves an interpreter start a heat."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.replay.verify import verify
from gateway.offline.ladder import ratings
from tests.e2e.server import ROOT

HEATS = 30  # the count
TRADEPIT = [sys.executable, "-m", "engine.cli"]
BOTS = ROOT / "tests" / "offline" / "bots"


def tradepit(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRADEPIT, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def add_six(ladder: Path) -> None:
    for role in ("market_maker", "hedge_fund", "arbitrage", "retail"):
        bot = f"{sys.executable} -m tradepit.examples.{role}"
        done = tradepit("ladder", str(ladder), "--add", f"ex-{role}", "--role", role, "--bot", bot)
        assert done.returncode == 0, done.stderr
    for name, role, file in (("crasher", "market_maker", "crash_at_tick_3.py"),
                             ("looper", "hedge_fund", "loop_forever.py")):  # fmt: skip
        done = tradepit("ladder", str(ladder), "--add", name, "--role", role,
                        "--bot", str(BOTS / file))  # fmt: skip
        assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_ladder_of_six_bots_runs_unattended(tmp_path: Path) -> None:
    ladder = tmp_path / "ladder"
    add_six(ladder)
    # bounded: a heat that hung would fail the run here, not stall the suite
    done = tradepit("ladder", str(ladder), "--heats", str(HEATS), "--ticks", "8", "--seed", "5",
                    timeout=60 * HEATS)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    heats = ratings.heats_of(ladder)
    assert [h["number"] for h in heats] == list(range(1, HEATS + 1))
    for h in heats:
        teams = {t["name"]: t for t in h["teams"]}
        assert set(teams) == {"ex-market_maker", "ex-hedge_fund", "ex-arbitrage", "ex-retail",
                              "crasher", "looper"}  # fmt: skip
        assert teams["crasher"]["failed"].startswith("crashed at tick 3 (exit 1"), teams
        assert teams["looper"]["failed"].startswith("over the CPU budget at tick 2"), teams
        assert (teams["crasher"]["rank"], teams["looper"]["rank"]) == (2, 2)
        assert all(teams[f"ex-{r}"]["failed"] is None and teams[f"ex-{r}"]["rank"] == 1
                   for r in ("market_maker", "hedge_fund", "arbitrage", "retail"))  # fmt: skip
        folder = ladder / "heats" / f"heat-{h['number']:04d}"
        # the owner's view of the failure: the traceback is in its .err
        assert "crashes at its tick 3" in (folder / "bots" / "crasher.err").read_text()
        out, err = io.StringIO(), io.StringIO()
        assert verify(folder / h["session"], out, err) == 0, out.getvalue() + err.getvalue()
    table = tradepit("ladder", str(ladder), "--table", "--json")
    rows = json.loads(table.stdout)
    assert [r["name"] for r in rows][-2:] != ["ex-market_maker", "ex-hedge_fund"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["crasher"]["failures"] == HEATS
    assert by_name["crasher"]["rating"] < by_name["ex-market_maker"]["rating"]
    assert by_name["looper"]["rating"] < by_name["ex-hedge_fund"]["rating"]
    assert by_name["crasher"]["games"] == HEATS
    # the stored table (folded one heat at a time) is the one recomputed from the files
    again = tradepit("ladder", str(ladder), "--recompute")
    assert again.returncode == 0, again.stdout
    assert "the same as the stored table" in again.stdout
    # the figure: the same heats in other orders move no bot more than one place
    moved = ratings.order_sensitivity(heats, orders=50, seed=3)
    print(f"order sensitivity over 50 shuffles of {HEATS} heats: {moved} place(s) at most")
    assert moved <= 1
