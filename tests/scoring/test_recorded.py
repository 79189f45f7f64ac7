"""The scorer's figures for the three recorded sessions, committed as golden files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import scoring
from gateway.offline import results
from tests.scoring.golden import check

REPLAYS = Path(__file__).resolve().parents[2] / "replays"


@pytest.mark.parametrize("name", ["quiet-demo", "news-signals", "crash-restart"])
def test_recorded_session_standings(name: str) -> None:
    scorer = results.score(REPLAYS / name)
    board = results.standings(scorer)
    assert board["session_id"] == name
    assert board["seed"] is not None
    series = {t: scoring.team_score(scorer, t)["series"] for t in scorer.teams}
    check(f"replays/{name}", {"standings": board, "series": series})


def test_scoring_at_a_seq_is_the_prefix_of_the_fold() -> None:
    full = results.score(REPLAYS / "quiet-demo")
    half = results.score(REPLAYS / "quiet-demo", at_seq=full.seq // 2)
    for team_id, team in half.teams.items():
        n = len(team.series.tick)
        assert list(full.teams[team_id].series.pnl)[:n] == list(team.series.pnl)
