from __future__ import annotations

from engine.config import ScheduleConfig
from engine.records import ChangePhase, ClockTick
from engine.shell.schedule import last_tick, phase_at, plan

S = ScheduleConfig(pre_open_ticks=2, auction_ticks=1, continuous_ticks=3)


def test_phases_follow_the_timetable() -> None:
    phases = [phase_at(S, t) for t in range(0, 8)]
    assert phases == [
        "closed",
        "pre_open",
        "pre_open",
        "opening_auction",
        "continuous",
        "continuous",
        "continuous",
        "closed",
    ]
    assert last_tick(S) == 6


def test_plan_changes_phase_before_the_tick_that_needs_it() -> None:
    assert plan(S, 0, "closed") == [ChangePhase(phase="pre_open"), ClockTick()]
    assert plan(S, 1, "pre_open") == [ClockTick()]
    assert plan(S, 2, "pre_open") == [ChangePhase(phase="opening_auction"), ClockTick()]
    assert plan(S, 3, "opening_auction") == [ChangePhase(phase="continuous"), ClockTick()]


def test_session_closes_after_the_last_tick_then_stops() -> None:
    assert plan(S, 6, "continuous") == [ChangePhase(phase="closed")]
    assert plan(S, 6, "closed") == []


def test_a_whole_session_walks_every_phase_once() -> None:
    tick, phase, seen = 0, "closed", []
    while commands := plan(S, tick, phase):
        for command in commands:
            if isinstance(command, ChangePhase):
                phase = command.phase
                seen.append(phase)
            else:
                tick += 1
    assert seen == ["pre_open", "opening_auction", "continuous", "closed"]
    assert tick == last_tick(S)


def test_an_admin_override_stands_until_the_next_boundary() -> None:
    # closed by an organiser during continuous trading: the clock ticks on, still closed
    assert plan(S, 4, "closed") == [ClockTick()]
    # reopened early during the auction: the schedule does not send it back
    assert plan(S, 3, "continuous") == [ClockTick()]
