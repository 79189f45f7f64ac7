"""The lockstep clock on an ordinary session (``[schedule] clock = "lockstep"``).

In-process engines on trio's MockClock: the clock's budgets are virtual seconds, so a
budget that runs out costs the test nothing, and a wait is told from a budget by the
records it leaves (``tick_budget_expired``), never by sleeping and hoping.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import trio
import trio.testing

from engine import config as configmod
from engine import log as logmod
from engine.core.rules import NANOS
from engine.records import (
    AnyRecord,
    ClockTick,
    DisableTeam,
    RegisterTeam,
    SetClock,
    SubmitOrder,
    TeamRegistered,
    TickBudgetExpired,
    TickStarted,
)
from engine.shell.clock import LockstepClock, WallClock
from engine.shell.sequencer import Engine, log_dir
from engine.wire import Reply
from gateway.upstream.engine_client import EngineClient, EngineUnavailable

CONFIG = configmod.load(
    None,
    house={"enabled": False},
    retail={"enabled": False},
    schedule={
        "clock": "lockstep",
        "tick_budget_seconds": 5.0,
        "pre_open_ticks": 1,
        "auction_ticks": 1,
        "continuous_ticks": 3,
    },
)


def recorded(path: Path) -> list[AnyRecord]:
    with logmod.open_reader(log_dir(path)) as reader:
        return list(reader.read(1))


def make_engine(path: Path) -> Engine:
    engine = Engine(path, CONFIG, seed=3, now_ns=lambda: 1_000 * NANOS, append_in_thread=False)
    engine.open()
    return engine


async def join(engine: Engine, name: str) -> str:
    reply = await engine.submit(RegisterTeam(team_name=name, role="hedge_fund", api_key_hash=name))
    assert isinstance(reply, Reply)
    registered = reply.events[0]
    assert isinstance(registered, TeamRegistered)
    return registered.team_id


def test_the_config_picks_the_clock(tmp_path: Path) -> None:
    assert isinstance(make_engine(tmp_path / "a").clock, LockstepClock)
    wall = Engine(tmp_path / "b", configmod.Config(), seed=3)
    wall.open()
    assert isinstance(wall.clock, WallClock)  # the default for live sessions
    with pytest.raises(configmod.ConfigError, match="tick_budget_seconds"):
        configmod.load(None, schedule={"tick_budget_seconds": 0})


async def test_ticks_wait_for_every_bot_then_for_its_budget(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    engine = make_engine(tmp_path)
    clock = engine.clock
    assert isinstance(clock, LockstepClock)
    core = engine.core
    assert core is not None
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve)
        await trio.sleep(3600)  # no bot yet: a lockstep session does not start alone
        assert core.tick_number == 0
        alpha, beta = await join(engine, "alpha"), await join(engine, "beta")
        assert engine.bots_under_test() == [alpha, beta]
        clock.done(alpha, 0)
        await trio.testing.wait_all_tasks_blocked()
        assert core.tick_number == 0  # beta is not ready
        clock.done(beta, 0)
        await trio.testing.wait_all_tasks_blocked()
        assert core.tick_number == 1
        # a done for a tick the session has not reached counts for the current one only
        clock.done(alpha, 99)
        clock.done(beta, 1)
        await trio.testing.wait_all_tasks_blocked()
        assert core.tick_number == 2
        before = trio.current_time()
        clock.done(alpha, 2)  # beta never answers tick 2: its budget, 5 virtual seconds
        while core.tick_number < 3:
            await trio.sleep(0.1)
        assert trio.current_time() - before == pytest.approx(5.0, abs=0.2)
        nursery.cancel_scope.cancel()
    late = [r for r in recorded(tmp_path) if isinstance(r, TickBudgetExpired)]
    assert [(r.tick_number, r.team_ids) for r in late] == [(2, [beta])]
    assert clock.expired == 1


async def test_time_is_the_sessions_and_a_tick_apart_each_tick(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    engine = make_engine(tmp_path)
    clock = engine.clock
    assert isinstance(clock, LockstepClock)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve)
        alpha = await join(engine, "alpha")
        for tick in range(4):
            clock.done(alpha, tick)
            await trio.testing.wait_all_tasks_blocked()
            await engine.submit(SubmitOrder(team_id=alpha, instrument_id="SPX", side="buy",
                                            quantity=1, order_type="market"))  # fmt: skip
        nursery.cancel_scope.cancel()
    records = recorded(tmp_path)
    ticks = [r for r in records if isinstance(r, ClockTick)]
    assert [b.ts - a.ts for a, b in itertools.pairwise(ticks)] == [NANOS] * 3
    for order in (r for r in records if isinstance(r, SubmitOrder)):
        started = max(t.ts for t in ticks if t.seq < order.seq)
        assert order.ts == started  # whatever the wall clock said meanwhile


async def test_a_bot_says_done_through_the_engine_socket(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    engine = make_engine(tmp_path)
    core = engine.core
    assert core is not None
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve)
        alpha = await join(engine, "alpha")
        client = EngineClient(tmp_path, reconnect_delay=0.01)
        await nursery.start(client.run)
        with trio.fail_after(10):
            await client.connected.wait()
            assert await client.done(alpha, 0) == 0
        await trio.testing.wait_all_tasks_blocked()
        assert core.tick_number == 1
        # a gateway's command never carries its own time: only the engine's may
        with pytest.raises(EngineUnavailable) as info:
            await client.request(RegisterTeam(team_name="late", role="retail",
                                              api_key_hash="x", ts=5))  # fmt: skip
        assert info.value.code == "FORBIDDEN"
        nursery.cancel_scope.cancel()
    assert [r.tick_number for r in recorded(tmp_path) if isinstance(r, TickStarted)] == [1]


async def test_an_organiser_stops_a_lockstep_session_and_no_budget_runs_meanwhile(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    engine = make_engine(tmp_path)
    clock = engine.clock
    assert isinstance(clock, LockstepClock)
    core = engine.core
    assert core is not None
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve)
        alpha = await join(engine, "alpha")
        await engine.submit(SetClock(running=False))
        clock.done(alpha, 0)
        await trio.sleep(600)  # stopped: no tick, and no budget spent on a silent bot
        assert core.tick_number == 0
        await engine.submit(SetClock(running=True))
        while core.tick_number < 1:
            await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert not [r for r in recorded(tmp_path) if isinstance(r, TickBudgetExpired)]


async def test_a_disabled_bot_holds_no_tick(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A ladder disables a bot it stopped: the tick waiting for it starts at once, not
    when the budget runs out (and no ``tick_budget_expired`` blames it)."""
    engine = make_engine(tmp_path)
    clock = engine.clock
    assert isinstance(clock, LockstepClock)
    core = engine.core
    assert core is not None
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve)
        alpha, beta = await join(engine, "alpha"), await join(engine, "beta")
        clock.done(alpha, 0)
        clock.done(beta, 0)
        await trio.testing.wait_all_tasks_blocked()
        assert core.tick_number == 1
        before = trio.current_time()
        clock.done(alpha, 1)  # beta crashed during tick 1
        await trio.testing.wait_all_tasks_blocked()
        await engine.submit(DisableTeam(team_id=beta))
        await trio.testing.wait_all_tasks_blocked()
        assert core.tick_number == 2
        assert trio.current_time() - before < 1.0  # not the 5 s budget
        nursery.cancel_scope.cancel()
    assert not [r for r in recorded(tmp_path) if isinstance(r, TickBudgetExpired)]
