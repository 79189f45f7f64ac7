"""The competition profile's day on the wall clock: when the engine's clock ticks.

docs/rules.md, Phases: 09:30-15:00 America/Chicago, a tick every 5 minutes.
``next_slot`` says when the next tick is due, on the grid ``open_time + n *
tick_seconds`` of the day, and when the session closes. A session started or resumed
late takes the next point of the grid, never a burst of missed ticks, and closes at
``close_time`` whatever tick it reached. Kept out of the pure core: it reads the time
zone database. (The demo profile ticks every ``tick_seconds`` from the engine's start
instead.)
"""

from __future__ import annotations

import datetime
import math
import zoneinfo
from typing import NamedTuple

from engine.config import ScheduleConfig


class Slot(NamedTuple):
    at: float  # epoch seconds
    closes: bool  # the session closes then, instead of ticking


def next_slot(schedule: ScheduleConfig, now: float, after: float | None = None) -> Slot:
    """Competition profile: when the next tick is due (epoch seconds), at ``now`` or later
    and strictly after ``after`` (the slot last ticked, if any).

    Before the day's open that is the open; during the session, the next point of the
    grid; from the close on, the close (``closes``): the session is over for the day.
    """
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    day = datetime.datetime.fromtimestamp(now, zone).date()
    opens, closes = (
        datetime.datetime.combine(day, datetime.time.fromisoformat(text), zone).timestamp()
        for text in (schedule.open_time, schedule.close_time)
    )
    step = schedule.tick_seconds
    due = opens if now <= opens else opens + math.ceil((now - opens) / step) * step
    if after is not None and due <= after:
        due = after + step
    return Slot(closes, True) if due >= closes else Slot(due, False)
