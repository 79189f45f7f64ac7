"""The competition profile's day: ticks on Chicago wall time, on a 5-minute grid."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from engine.config import ScheduleConfig
from engine.shell.trading_day import Slot, next_slot

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
DAY = ScheduleConfig(profile="competition", tick_seconds=300.0)  # 09:30-15:00 by default


def at(day: str, clock: str) -> float:
    """Epoch seconds of a Chicago wall-clock time."""
    return datetime.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=CHICAGO).timestamp()


@pytest.mark.parametrize("day", ["2026-11-24", "2026-07-14"])  # standard and daylight time
@pytest.mark.parametrize(
    ("now", "due", "closes"),
    [
        ("08:00:00", "09:30:00", False),  # before the open: wait for it
        ("09:30:00", "09:30:00", False),
        ("09:30:00.001", "09:35:00", False),  # on the grid, never a burst of missed ticks
        ("10:02:00", "10:05:00", False),
        ("14:55:00", "14:55:00", False),
        ("14:56:00", "15:00:00", True),  # the next point is the close
        ("16:00:00", "15:00:00", True),  # after the close: over for the day, at once
    ],
)
def test_the_competition_day_keeps_chicago_wall_time(
    day: str, now: str, due: str, closes: bool
) -> None:
    assert next_slot(DAY, at(day, now)) == Slot(at(day, due), closes)


def test_the_next_slot_is_after_the_one_just_ticked() -> None:
    day = "2026-11-24"
    assert next_slot(DAY, at(day, "09:30"), after=at(day, "09:30")) == Slot(at(day, "09:35"), False)
    assert next_slot(DAY, at(day, "14:55"), after=at(day, "14:55")) == Slot(at(day, "15:00"), True)
