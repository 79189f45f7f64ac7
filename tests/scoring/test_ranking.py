"""The ranking policy (issue 32): an unmet requirement and a disqualification show in the
ranks, as ``[scoring] unmet_requirement`` says; ties still share a rank within a group."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.records import DisableTeam
from gateway import scoring
from gateway.scoring.ranking import DISABLED, MET, UNMET, ranked, standing
from tests.scoring.session import Session


def test_groups_rank_one_after_another_and_ties_share_within_a_group() -> None:
    scores = [("a", 100), ("b", 500), ("c", 100), ("d", 900), ("e", 900), ("f", 50)]
    groups = {"d": UNMET, "e": DISABLED, "b": UNMET}
    assert ranked(scores, groups) == [
        (1, "a", 100),
        (1, "c", 100),
        (3, "f", 50),
        (4, "d", 900),  # unmet: after every team that met its requirements
        (5, "b", 500),
        (6, "e", 900),  # disabled: last, and not tied with d at the same score
    ]
    assert ranked(scores) == ranked(scores, {})  # no groups: by score alone, as before


@given(st.lists(st.tuples(st.integers(-3, 3), st.sampled_from([MET, UNMET, DISABLED]))))
def test_a_better_group_always_ranks_above_and_ranks_skip_after_ties(
    rows: list[tuple[int, int]],
) -> None:
    scores = [(f"t{i}", score) for i, (score, _) in enumerate(rows)]
    groups = {f"t{i}": group for i, (_, group) in enumerate(rows)}
    out = ranked(scores, groups)
    previous: tuple[int, int, int] | None = None  # (group, -score, rank)
    for position, (rank, team_id, score) in enumerate(out, 1):
        key = (groups[team_id], -score)
        if previous is not None:
            assert previous[:2] <= key
        # a tie (same group, same score) shares the rank; otherwise the rank is the place
        tied = previous is not None and previous[:2] == key
        assert rank == (previous[2] if tied and previous is not None else position)
        previous = (*key, rank)


def test_standing_by_policy() -> None:
    assert standing(True, False, "rank_after") == MET
    assert standing(False, False, "rank_after") == UNMET
    assert standing(False, False, "flag") == MET
    assert standing(True, True, "flag") == DISABLED
    assert standing(False, True, "rank_after") == DISABLED


def _makers(policy: str, disable: str | None = None) -> dict[str, dict[str, Any]]:
    """Two market makers with the same score (no trade, no penalty): one quotes all 22
    instruments (uptime 1.0), one half of them (0.5, unmet); a third quotes nothing."""
    s = Session(
        price_limits={"max_deviation_percent": 100},
        scoring={"unmet_requirement": policy, "mm_breach_penalty": 0},
    )
    teams = {name: s.team(name, "market_maker") for name in ("mm-half", "mm-full", "mm-idle")}
    ids = list(s.core.instruments)
    for iid in ids:
        s.quote(teams["mm-full"], iid)
    for iid in ids[::2]:
        s.quote(teams["mm-half"], iid)
    if disable is not None:
        s.run(DisableTeam(team_id=teams[disable]))
    s.tick(12)
    board = scoring.leaderboard(s.scorer())
    rows = {row["team_name"]: row for row in board["roles"]["market_maker"]}
    assert [r["rank"] for r in board["roles"]["market_maker"]] == sorted(
        r["rank"] for r in rows.values()
    )  # listed in rank order
    ranks = scoring.ranks(s.scorer())
    assert {n: ranks[r["team_id"]] for n, r in rows.items()} == {
        n: r["rank"] for n, r in rows.items()
    }  # the score_update's rank is the leaderboard's
    return rows


def test_rank_after_puts_an_unmet_requirement_behind_every_team_that_met_it() -> None:
    rows = _makers("rank_after")
    assert rows["mm-full"]["requirements_met"] is True
    assert (rows["mm-half"]["requirements_met"], rows["mm-half"]["unmet"]) == (False, ["uptime"])
    assert {n: r["score"] for n, r in rows.items()} == {"mm-full": 0, "mm-half": 0, "mm-idle": 0}
    # equal scores: only the policy separates them; the two unmet ones tie behind
    assert {n: r["rank"] for n, r in rows.items()} == {"mm-full": 1, "mm-half": 2, "mm-idle": 2}


def test_flag_only_shows_the_unmet_requirement() -> None:
    rows = _makers("flag")
    assert {n: r["rank"] for n, r in rows.items()} == {"mm-full": 1, "mm-half": 1, "mm-idle": 1}
    assert rows["mm-half"]["unmet"] == ["uptime"]


@pytest.mark.parametrize("policy", ["flag", "rank_after"])
def test_a_disabled_team_is_flagged_and_ranked_last_under_either_policy(policy: str) -> None:
    rows = _makers(policy, disable="mm-full")
    assert rows["mm-full"]["disabled"] is True
    assert rows["mm-full"]["rank"] == 3
    assert rows["mm-half"]["disabled"] is False
    assert rows["mm-half"]["rank"] == 1
