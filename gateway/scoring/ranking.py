"""Ranks within a role: by score, best first; ties share a rank and the next one skips.

docs/scoring.md, Figures for every team: ties share a rank and the next rank skips
(1, 2, 2, 4). Equal means equal in
cents. Tied teams are listed by team id, so every reader lists them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable


def ranked(scores: Iterable[tuple[str, int]]) -> list[tuple[int, str, int]]:
    """(rank, team id, score) for (team id, score) pairs, best first."""
    ordered = sorted(scores, key=lambda pair: (-pair[1], pair[0]))
    out: list[tuple[int, str, int]] = []
    for position, (team_id, score) in enumerate(ordered, 1):
        rank = out[-1][0] if out and out[-1][2] == score else position
        out.append((rank, team_id, score))
    return out
