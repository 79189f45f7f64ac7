"""Ranks within a role: by standing, then by score, best first; ties share a rank and
the next one skips.

docs/scoring.md, Figures for every team: ties share a rank and the next rank skips
(1, 2, 2, 4). Equal means equal in
cents and in standing. Tied teams are listed by team id, so every reader lists them the
same way.

A team's *standing* is the group it ranks in (issue 32): teams that met their role's
requirements, then (``[scoring] unmet_requirement = "rank_after"``) those that did not,
then disabled teams, last whatever their score. With ``"flag"`` an unmet requirement
changes no rank and is only shown. A disqualified team stays listed, flagged, so the
organiser's table still accounts for every team.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

MET, UNMET, DISABLED = 0, 1, 2


def standing(requirements_met: bool, disabled: bool, unmet_requirement: str) -> int:
    """The group a team ranks in: MET, UNMET or DISABLED (ranked in that order)."""
    if disabled:
        return DISABLED
    if not requirements_met and unmet_requirement == "rank_after":
        return UNMET
    return MET


def ranked(
    scores: Iterable[tuple[str, int]], standings: Mapping[str, int] | None = None
) -> list[tuple[int, str, int]]:
    """(rank, team id, score) for (team id, score) pairs, best first; ``standings`` (team
    id -> group, MET when absent) ranks whole groups after one another."""
    group = standings or {}
    ordered = sorted(scores, key=lambda pair: (group.get(pair[0], MET), -pair[1], pair[0]))
    out: list[tuple[int, str, int]] = []
    previous: tuple[int, int] | None = None
    for position, (team_id, score) in enumerate(ordered, 1):
        key = (group.get(team_id, MET), score)
        rank = out[-1][0] if out and key == previous else position
        out.append((rank, team_id, score))
        previous = key
    return out
