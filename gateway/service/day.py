"""The state of the competition day as ``GET /health`` shows it to organisers and pages.

Everything but ``next_phase`` is what the projection folded from the log: the phase, the
admin switches (clock, registration, halt) and the closing bell. ``next_phase`` is a
forecast from the timetable (``engine.shell.schedule``, the function the engine's clock
runs): the next boundary at which the clock will change the phase, and when, reckoned
from the last tick at ``tick_seconds`` a tick. None while the clock is stopped or after
the bell, when nothing is scheduled.
"""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from engine.config import ScheduleConfig
from engine.shell.schedule import last_tick, phase_at
from gateway.projection.fold import Projection
from gateway.projection.messages import iso_timestamp

NANOS = 1_000_000_000


def state(p: Projection) -> dict[str, Any]:
    """The day's keys of ``/health`` (added to the gateway's own)."""
    teams, max_teams = p.registered_teams, p.config.teams.max_teams
    registration_open = p.registration_open and teams < max_teams and not p.final_seq
    return {
        "clock": "running" if p.clock_running and not p.final_seq else "stopped",
        "registration": "open" if registration_open else "closed",
        "registered_teams": teams,
        "max_teams": max_teams,
        "trading": "halted" if p.trading_halted else "open",
        "ended": bool(p.final_seq),
        "final_seq": p.final_seq or None,
        "next_phase": next_phase(p),
    }


def next_phase(p: Projection) -> dict[str, Any] | None:
    if p.final_seq or not p.clock_running or p.clock_ts == 0:
        return None
    schedule = p.config.schedule
    found = upcoming(schedule, p.tick_number, p.phase)
    if found is None:
        return None
    phase, ticks = found
    at_ns = p.clock_ts + round(ticks * schedule.tick_seconds * NANOS)
    close_ns = _close_ns(schedule, p.clock_ts)
    if close_ns is not None and at_ns >= close_ns:  # the wall-clock day ends first
        phase, at_ns = "closed", close_ns
        if p.phase == "closed":
            return None
    return {"phase": phase, "at": iso_timestamp(at_ns)}


def upcoming(schedule: ScheduleConfig, tick: int, phase: str) -> tuple[str, int] | None:
    """(the next phase, in how many ticks) as ``schedule.plan`` will change it, or None.

    ``plan`` changes the phase only at a boundary of the timetable (an organiser's
    override stands until then), and closes the session after its last tick.
    """
    for ahead in range(1, max(last_tick(schedule) - tick + 2, 2)):
        want = phase_at(schedule, tick + ahead)
        if want == "closed":
            return None if phase == "closed" else ("closed", ahead)
        if want != phase_at(schedule, tick + ahead - 1) and want != phase:
            return want, ahead
    return None


def _close_ns(schedule: ScheduleConfig, now_ns: int) -> int | None:
    """The competition profile's close on the day of ``now_ns`` (demo: none)."""
    if schedule.profile != "competition":
        return None
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    day = datetime.datetime.fromtimestamp(now_ns / NANOS, zone).date()
    close = datetime.datetime.combine(day, datetime.time.fromisoformat(schedule.close_time), zone)
    return int(close.timestamp()) * NANOS
