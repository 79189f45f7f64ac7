"""The scheduler: which bots play the next heat.

For each role the heat needs (``per_role`` teams, at least one), the role's least played
bot first (a new bot has played none: it is picked at once, and its rating settles
before the others'), then the bots nearest to it in rating. A team over its cap of
ranked heats in the last hour is not picked; when a role has no other bot, it plays
unrated (the heat still needs the role). Ties go by the order of submission, then the
name: the same ladder state always gives the same heat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.records import ROLES
from gateway.offline.ladder.ratings import Standing
from gateway.offline.ladder.roster import Entry


@dataclass(frozen=True)
class Rules:
    per_role: int = 2  # teams of each role in a heat, at most
    cap_per_hour: int = 0  # ranked heats per team per hour (0: no cap)


class NoHeat(Exception):
    """A role the heat needs has no bot in the roster."""


def recent_heats(heats: list[dict[str, Any]], now: float) -> dict[str, int]:
    """Ranked heats per team name that started within the last hour."""
    counts: dict[str, int] = {}
    for heat in heats:
        if heat.get("rated", True) and now - float(heat.get("started", 0)) < 3600:
            for team in heat["teams"]:
                counts[team["name"]] = counts.get(team["name"], 0) + 1
    return counts


def pick(
    roster: dict[str, Entry],
    table: dict[str, Standing],
    rules: Rules,
    recent: dict[str, int],
) -> list[tuple[Entry, bool]]:
    """The heat's bots, each with whether its result is rated."""
    chosen: list[tuple[Entry, bool]] = []
    for role in ROLES:
        bots = sorted(
            (e for e in roster.values() if e.role == role),
            key=lambda e: (_played(table, e), e.added, e.name),
        )
        if not bots:
            raise NoHeat(f"no bot plays {role}: add one (--add NAME --role {role} --bot ...)")
        capped = [
            e for e in bots if rules.cap_per_hour and recent.get(e.name, 0) >= rules.cap_per_hour
        ]
        free = [e for e in bots if e not in capped]
        if not free:  # the role must be there: its least played bot plays, unrated
            chosen.append((bots[0], False))
            continue
        anchor = free[0]
        level = _level(table, anchor)
        near = sorted(
            free[1:],
            key=lambda e: (abs(_level(table, e) - level), _played(table, e), e.added, e.name),
        )
        chosen += [(e, True) for e in [anchor, *near][: rules.per_role]]
    return chosen


def _played(table: dict[str, Standing], entry: Entry) -> int:
    st = table.get(entry.key)
    return 0 if st is None else st.heats


def _level(table: dict[str, Standing], entry: Entry) -> float:
    st = table.get(entry.key)
    return 0.0 if st is None else st.conservative
