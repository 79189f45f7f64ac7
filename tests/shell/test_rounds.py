"""Rounds within a lockstep tick (``engine/shell/rounds.py``, issue 18).

In-process engines on trio's MockClock, bots played by tasks that send their requests
through ``Engine.offer`` (a gateway's path into the engine, as NATS requests take it)
or an ``EngineClient`` over the engine socket, and say done through the clock. Every
wait is virtual: a bot "thinks" by sleeping virtual seconds drawn from a seed, so the
same requests arrive in other orders for other seeds, and the log must not care.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import pytest
import trio
import trio.testing

from engine import config as configmod
from engine.records import (
    AnyRecord,
    CancelAll,
    ClockTick,
    Command,
    DisableTeam,
    OrderAccepted,
    OrderRejected,
    Record,
    SubmitOrder,
    TickBudgetExpired,
    Trade,
)
from engine.shell.clock import LockstepClock
from engine.shell.rounds import RoundAnswer, Rounds, team_order
from engine.shell.sequencer import Engine, log_dir
from engine.wire import Refused, Reply
from gateway.upstream.engine_client import EngineClient
from tests.shell.test_lockstep import CONFIG, join, make_engine, recorded

BUDGET = CONFIG.schedule.tick_budget_seconds
IID = "SPX_4400_CALL"
_ids = itertools.count(1)


def order(team_id: str, side: str, price: int = 10_000) -> SubmitOrder:
    return SubmitOrder(team_id=team_id, instrument_id=IID, side=side, quantity=1,
                       order_type="limit", price=price)  # fmt: skip


def at_fair(engine: Engine, team_id: str, side: str) -> SubmitOrder:
    """An order at the tick's fair value: inside the price band, so it can trade."""
    core = engine.core
    assert core is not None
    return order(team_id, side, core.fair[IID])


class Answer:
    """A request's answer to come: ``answer()`` is it, or None while none came."""

    def __init__(self) -> None:
        self.came = trio.Event()
        self.result: Reply | Refused | None = None

    def __call__(self) -> Reply | Refused | None:
        return self.result

    def set(self, result: Reply | Refused) -> None:
        self.result = result
        self.came.set()


def offer(engine: Engine, command: Command) -> Answer:
    """Send ``command`` as a gateway would (``Engine.offer`` is the NATS requests' way)."""
    answer = Answer()
    engine.offer(cast(AnyRecord, command), next(_ids), answer.set)
    return answer


def lockstep(engine: Engine) -> LockstepClock:
    clock = engine.clock
    assert isinstance(clock, LockstepClock)
    return clock


async def started(engine: Engine, nursery: trio.Nursery, names: list[str]) -> list[str]:
    """Serve ``engine``, register the bots, take the session to its continuous phase."""
    await nursery.start(engine.serve)
    teams = [await join(engine, name) for name in names]
    core, clock = engine.core, lockstep(engine)
    assert core is not None
    while core.phase != "continuous":
        for team in teams:
            clock.done(team, core.tick_number)
        await trio.testing.wait_all_tasks_blocked()
    return teams


# ---------------------------------------------------------------- the same log, any order


def moves(engine: Engine, team: str, teams: list[str]) -> list[list[Command]]:
    """A tick's requests of each bot, each list sent at once (a pipelined burst); the
    next list after the answers: the seller sells two, one buyer buys one request at a
    time, the other sends two buys at once. Who gets the seller's units is the order."""
    seller, patient, _ = teams
    sell, buy = at_fair(engine, team, "sell"), at_fair(engine, team, "buy")
    if team == seller:
        return [[sell], [sell]]
    if team == patient:
        return [[buy], [buy], [CancelAll(team_id=team)]]
    return [[buy, buy], [CancelAll(team_id=team)]]


async def bot_tick(engine: Engine, team: str, teams: list[str], tick: int, seed: int) -> None:
    """One bot's tick as the kit plays it: think, send, wait for the answers; then done."""
    think = random.Random(f"{seed}-{team}-{tick}")
    for burst in moves(engine, team, teams):
        await trio.sleep(think.uniform(0.0, 0.3))
        answers = [offer(engine, command) for command in burst]
        for answer in answers:
            await answer.came.wait()
    await trio.sleep(think.uniform(0.0, 0.3))
    lockstep(engine).done(team, tick)


async def heat(path: Path, seed: int) -> tuple[list[AnyRecord], list[list[str]]]:
    """Three bots over the continuous ticks: the records, and each frame's record tags."""
    engine = make_engine(path)
    frames: list[list[str]] = []
    writer = engine.writer
    assert writer is not None
    append = writer.append

    def spy(batch: Sequence[Record]) -> None:
        frames.append([type(r).__name__ for r in batch])
        append(batch)

    writer.append = spy  # type: ignore[method-assign]
    core = engine.core
    assert core is not None
    async with trio.open_nursery() as nursery:
        teams = await started(engine, nursery, ["alpha", "beta", "gamma"])
        while core.phase == "continuous":
            tick = core.tick_number
            async with trio.open_nursery() as bots:
                for team in teams:
                    bots.start_soon(bot_tick, engine, team, teams, tick, seed)
            await trio.testing.wait_all_tasks_blocked()  # all done: the tick moves on
            assert core.tick_number > tick or core.phase == "closed"
        nursery.cancel_scope.cancel()
    return recorded(path), frames


def log_bytes(path: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(log_dir(path).iterdir()) if p.is_file()]


async def test_the_same_requests_in_any_arrival_order_write_the_same_log(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    runs = [await heat(tmp_path / f"seed{seed}" / "session", seed) for seed in (1, 2, 3)]
    records, frames = runs[0]
    assert [r for r in records if isinstance(r, Trade)], "the bots must meet in the book"
    for other in runs[1:]:
        assert other == runs[0]  # the same records, cut into the same frames
    first = log_bytes(tmp_path / "seed1" / "session")
    assert all(log_bytes(tmp_path / f"seed{s}" / "session") == first for s in (2, 3))
    # a round is one frame: the three bots' first requests of the tick together
    assert next(f for f in frames if "SubmitOrder" in f).count("SubmitOrder") == 3


async def test_without_rounds_the_arrival_order_shows(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test above can fail: sequenced as they arrive, the seeds' logs differ."""
    monkeypatch.setattr(LockstepClock, "hold", lambda *_: False)
    runs = [await heat(tmp_path / f"seed{seed}" / "session", seed) for seed in (1, 2, 3)]
    assert any(run[0] != runs[0][0] for run in runs[1:])


# ---------------------------------------------------------------- how a round waits


async def test_a_round_waits_for_a_bot_still_thinking(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    engine = make_engine(tmp_path)
    core = engine.core
    assert core is not None
    async with trio.open_nursery() as nursery:
        alpha, beta = await started(engine, nursery, ["alpha", "beta"])
        tick = core.tick_number
        sell = offer(engine, at_fair(engine, alpha, "sell"))
        await trio.sleep(BUDGET / 2)  # beta thinks: alpha's order waits, unsequenced
        assert sell() is None
        assert not [r for r in recorded(tmp_path) if isinstance(r, SubmitOrder)]
        buy = offer(engine, at_fair(engine, beta, "buy"))
        await trio.testing.wait_all_tasks_blocked()
        assert isinstance(sell(), Reply)
        assert isinstance(buy(), Reply)
        assert core.tick_number == tick  # nobody is done: the tick waits
        nursery.cancel_scope.cancel()
    orders = [r for r in recorded(tmp_path) if isinstance(r, SubmitOrder)]
    assert [o.team_id for o in orders] == team_order([alpha, beta], tick)


async def test_a_done_with_a_request_held_settles_the_team(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A bot that sends and says done without waiting: its request is in a round of the
    tick it was sent in, before the next tick starts."""
    engine = make_engine(tmp_path)
    core, clock = engine.core, lockstep(engine)
    assert core is not None
    async with trio.open_nursery() as nursery:
        alpha, beta = await started(engine, nursery, ["alpha", "beta"])
        tick = core.tick_number
        sell = offer(engine, at_fair(engine, alpha, "sell"))
        clock.done(alpha, tick)
        await trio.testing.wait_all_tasks_blocked()
        assert sell() is None
        assert core.tick_number == tick
        clock.done(beta, tick)
        await trio.testing.wait_all_tasks_blocked()
        assert isinstance(sell(), Reply)
        assert core.tick_number == tick + 1
        nursery.cancel_scope.cancel()
    records = recorded(tmp_path)
    placed = next(r for r in records if isinstance(r, SubmitOrder))
    assert sum(isinstance(r, ClockTick) and r.seq < placed.seq for r in records) == tick
    assert not [r for r in records if isinstance(r, TickBudgetExpired)]


async def test_the_budget_runs_out_with_requests_held(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Beta never answers: alpha's held requests go in a last round, then the tick moves
    on, and the log says whom it waited for."""
    engine = make_engine(tmp_path)
    core = engine.core
    assert core is not None
    async with trio.open_nursery() as nursery:
        alpha, beta = await started(engine, nursery, ["alpha", "beta"])
        tick = core.tick_number
        before = trio.current_time()
        sell = at_fair(engine, alpha, "sell")
        answers = [offer(engine, sell), offer(engine, CancelAll(team_id=alpha))]
        while core.tick_number == tick:
            await trio.sleep(0.1)
        assert trio.current_time() - before == pytest.approx(BUDGET, abs=0.2)
        assert all(isinstance(a(), Reply) for a in answers)
        nursery.cancel_scope.cancel()
    records = recorded(tmp_path)
    late = [r for r in records if isinstance(r, TickBudgetExpired)]
    # alpha waited for its answers, not for itself: only beta held the round up
    assert [(r.tick_number, r.team_ids) for r in late] == [(tick, [beta])]
    seqs = {type(r).__name__: r.seq for r in records}
    assert seqs["SubmitOrder"] < seqs["CancelAll"] < seqs["TickBudgetExpired"]


async def test_a_disabled_teams_held_request_is_still_answered(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    engine = make_engine(tmp_path)
    core, clock = engine.core, lockstep(engine)
    assert core is not None
    async with trio.open_nursery() as nursery:
        alpha, beta = await started(engine, nursery, ["alpha", "beta"])
        tick = core.tick_number
        sell = offer(engine, at_fair(engine, alpha, "sell"))
        await engine.submit(DisableTeam(team_id=alpha))  # an organiser's: never held
        clock.done(beta, tick)
        await trio.testing.wait_all_tasks_blocked()
        answer = sell()
        assert isinstance(answer, Reply)  # sequenced, and refused by the core
        assert isinstance(answer.events[0], OrderRejected)
        assert core.tick_number == tick + 1  # beta alone is under test now
        nursery.cancel_scope.cancel()


async def test_one_bot_is_settled_by_its_own_request(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A backtest's single bot: its request is sequenced at once, as before rounds."""
    engine = make_engine(tmp_path)
    async with trio.open_nursery() as nursery:
        (alpha,) = await started(engine, nursery, ["alpha"])
        sell = offer(engine, at_fair(engine, alpha, "sell"))
        await trio.testing.wait_all_tasks_blocked()
        reply = sell()
        assert isinstance(reply, Reply)
        assert isinstance(reply.events[0], OrderAccepted)
        nursery.cancel_scope.cancel()


async def test_a_gateway_gone_with_a_request_held_wedges_nothing(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Held through the engine socket, then the gateway's connection drops: the request
    is still sequenced in its round (as one already in the inbox would be), and the
    tick moves on when the bots are done."""
    engine = make_engine(tmp_path)
    core, clock = engine.core, lockstep(engine)
    assert core is not None
    async with trio.open_nursery() as nursery:
        alpha, beta = await started(engine, nursery, ["alpha", "beta"])
        tick = core.tick_number
        with trio.CancelScope() as gateway:
            client = EngineClient(tmp_path, reconnect_delay=0.01)
            async with trio.open_nursery() as inner:
                await inner.start(client.run)
                await client.connected.wait()
                inner.start_soon(client.request, at_fair(engine, alpha, "sell"))
                while not clock.rounds:
                    await trio.sleep(0.001)
                gateway.cancel()  # the connection closes with the request held
        clock.done(beta, tick)
        clock.done(alpha, tick)
        await trio.testing.wait_all_tasks_blocked()
        assert not clock.rounds
        assert core.tick_number == tick + 1
        nursery.cancel_scope.cancel()
    assert [r.team_id for r in recorded(tmp_path) if isinstance(r, SubmitOrder)] == [alpha]


def test_the_wall_clock_holds_nothing(tmp_path: Path) -> None:
    wall = Engine(tmp_path, configmod.Config(), seed=3)
    wall.open()
    assert wall._holder() is None  # a live session's requests go straight on


# ---------------------------------------------------------------- the bookkeeping


def test_team_order_is_sorted_then_turned_by_the_tick() -> None:
    teams = ["TEAM_0003", "TEAM_0001", "TEAM_0002"]
    assert team_order(teams, 0) == ["TEAM_0001", "TEAM_0002", "TEAM_0003"]
    assert team_order(teams, 1) == ["TEAM_0002", "TEAM_0003", "TEAM_0001"]
    assert team_order(teams, 5) == ["TEAM_0003", "TEAM_0001", "TEAM_0002"]
    firsts = [team_order(teams, tick)[0] for tick in range(30)]
    assert {firsts.count(team) for team in teams} == {10}  # each leads as often


def test_a_round_takes_one_request_a_team_and_the_budget_takes_all() -> None:
    rounds = Rounds()
    a1, a2, b1 = (order(t, "buy") for t in ("A", "A", "B"))
    for team, command in (("A", a1), ("A", a2), ("B", b1)):
        rounds.hold(team, (command, 1, None))
    assert len(rounds) == 3
    first = rounds.take(tick=1)  # turned by tick 1: B first
    assert [c for c, _, _ in first] == [b1, a1]
    assert rounds.holds("A")
    assert not rounds.holds("B")
    marks = {a.round for _, _, a in first if isinstance(a, RoundAnswer)}
    assert len(marks) == 1  # one mark: one batch for the sequencer
    rounds.hold("B", (b1, 2, None))
    rounds.hold("B", (a1, 3, None))
    assert [rid for _, rid, _ in rounds.drain(tick=0)] == [1, 2, 3]
    assert not rounds
