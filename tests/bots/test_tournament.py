"""``tradepit tournament --heats 2``: two fresh sessions of the example bots, standings
printed, ranks summed across heats, and each heat's session replays byte for byte."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.server import ROOT

CONFIG = """
[schedule]
tick_seconds = 0.5
pre_open_ticks = 2
auction_ticks = 1
"""


@pytest.mark.slow
def test_two_heats_rank_and_replay(tmp_path: Path) -> None:
    config = tmp_path / "fast.toml"
    config.write_text(CONFIG)
    tradepit = [sys.executable, "-m", "engine.cli"]
    done = subprocess.run(
        [*tradepit, "tournament", "--heats", "2", "--ticks", "30", "--seed", "40",
         "--config", str(config), "--tick-seconds", "0.5", "--data-dir", str(tmp_path / "t")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "== heat 1 (seed 41)" in out
    assert "== heat 2 (seed 42)" in out
    # the standings of each heat, then the sum of ranks of each of the four bots
    overall = out.split("== tournament:", 1)[1]
    for role in ("market_maker", "hedge_fund", "arbitrage", "retail"):
        assert re.search(rf"{role}\s+ex-{role}\s+1 1\s+2\n", overall), overall
    sessions = [Path(p) for p in re.findall(r"^  heat \d: (\S+)$", out, re.MULTILINE)]
    assert len(sessions) == 2
    assert sessions[0] != sessions[1]
    for session in sessions:
        verify = subprocess.run(
            [*tradepit, "replay", "verify", str(session)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
