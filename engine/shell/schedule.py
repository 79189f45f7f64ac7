"""The session timetable as a pure function of the tick number.

Ticks are numbered from 1. The phases run pre_open -> opening_auction -> continuous
for the configured number of ticks each, then the session is closed. The engine's
clock task asks ``plan(config, tick, phase)`` what to sequence next; when it asks is
``engine.shell.trading_day`` for the competition profile, every ``tick_seconds`` otherwise.
"""

from __future__ import annotations

from engine.config import ScheduleConfig
from engine.records import ChangePhase, ClockTick, Command


def last_tick(schedule: ScheduleConfig) -> int:
    return schedule.pre_open_ticks + schedule.auction_ticks + schedule.continuous_ticks


def phase_at(schedule: ScheduleConfig, tick: int) -> str:
    """The phase during tick ``tick`` (tick 0 is before the session, after the end is closed)."""
    if tick <= 0:
        return "closed"
    edges = (
        (schedule.pre_open_ticks, "pre_open"),
        (schedule.auction_ticks, "opening_auction"),
        (schedule.continuous_ticks, "continuous"),
    )
    end = 0
    for length, phase in edges:
        end += length
        if tick <= end:
            return phase
    return "closed"


def plan(schedule: ScheduleConfig, tick: int, phase: str) -> list[Command]:
    """The commands that start tick ``tick + 1`` given the current tick and phase.

    An empty list means the session is over (closed after its last tick).
    """
    nxt = tick + 1
    want = phase_at(schedule, nxt)
    if want == "closed":
        return [] if phase == "closed" else [ChangePhase(phase="closed")]
    out: list[Command] = []
    # only at a boundary of the timetable: an organiser's phase override stands until then
    if want != phase_at(schedule, tick) and want != phase:
        out.append(ChangePhase(phase=want))
    out.append(ClockTick())
    return out
