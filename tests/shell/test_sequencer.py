"""The engine shell in-process: sequencing, durable answers, recovery, storage trouble, clock."""

from __future__ import annotations

import datetime
import errno
import itertools
import threading
import zoneinfo
from collections.abc import Sequence
from pathlib import Path

import pytest
import trio

from engine import config as configmod
from engine import log as logmod
from engine.config import COMPETITION
from engine.log import FileLogWriter
from engine.records import (
    AnyRecord,
    ChangePhase,
    ClockTick,
    Command,
    EngineStarted,
    OrderAccepted,
    PhaseChanged,
    Record,
    RegisterTeam,
    SetClock,
    StartSession,
    SubmitOrder,
    TeamRegistered,
    TickStarted,
)
from engine.shell.sequencer import Engine, EngineError, log_dir
from engine.wire import Refused, Reply
from gateway.upstream.engine_client import EngineClient, EngineUnavailable

CONFIG = configmod.load(
    None,
    house={"enabled": False},
    retail={"enabled": False},
    schedule={"tick_seconds": 1.0, "pre_open_ticks": 1, "auction_ticks": 1, "continuous_ticks": 3},
)


def make_engine(path: Path) -> Engine:
    clock = itertools.count(1_000_000_000, 1_000)
    return Engine(path, CONFIG, seed=11, now_ns=lambda: next(clock))


def recorded(path: Path) -> list[AnyRecord]:
    reader = logmod.open_reader(log_dir(path))
    try:
        return list(reader.read(1))
    finally:
        reader.close()


def order(team_id: str, price: int = 10_000, **kw: object) -> SubmitOrder:
    fields: dict[str, object] = {
        "team_id": team_id,
        "instrument_id": "SPX_4400_CALL",
        "side": "buy",
        "quantity": 5,
        "order_type": "limit",
        "price": price,
    }
    fields.update(kw)
    return SubmitOrder(**fields)  # type: ignore[arg-type]


async def test_a_new_session_starts_with_its_session_record(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    engine.open()
    engine.close()
    records = recorded(tmp_path)
    assert isinstance(records[0], StartSession)
    assert records[0].seed == 11
    assert records[0].config_hash == configmod.config_hash(CONFIG)
    assert isinstance(records[-1], EngineStarted)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))


async def test_answers_come_after_the_records_are_durable(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve, "127.0.0.1", 0, False)
        client = EngineClient(tmp_path, reconnect_delay=0.01)
        await nursery.start(client.run)
        with trio.fail_after(10):
            await client.connected.wait()
            reply = await client.request(
                RegisterTeam(team_name="alpha", role="hedge_fund", api_key_hash="h")
            )
        [registered] = reply.events
        assert isinstance(registered, TeamRegistered)
        # durable at answer time: another reader sees the command and its event
        seqs = {r.seq for r in recorded(tmp_path)}
        assert {reply.seq, registered.seq} <= seqs
        nursery.cancel_scope.cancel()


async def test_a_lone_command_is_appended_on_the_loop_and_a_batch_in_a_thread(
    tmp_path: Path,
) -> None:
    """The hop to a worker thread costs more than a lone command's fsync, and the loop
    has nothing to do meanwhile; a batch (here the engine's own group of two) still leaves
    the loop free during its fsync. Both are durable before their answer."""
    engine = make_engine(tmp_path)
    engine.open()
    writer = engine.writer
    assert writer is not None
    threads: list[tuple[int, bool]] = []  # records appended, and whether on the loop's thread
    append = writer.append
    loop_thread = threading.get_ident()

    def watched(records: Sequence[Record]) -> None:
        threads.append((len(records), threading.get_ident() == loop_thread))
        append(records)

    writer.append = watched  # type: ignore[method-assign,assignment]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve, "127.0.0.1", 0, False)
        with trio.fail_after(10):
            lone = await engine.submit(
                RegisterTeam(team_name="alpha", role="hedge_fund", api_key_hash="h")
            )
            group = await engine.submit_all(
                [ChangePhase(phase="pre_open"), ChangePhase(phase="continuous")]
            )
        nursery.cancel_scope.cancel()
    assert isinstance(lone, Reply)
    replies = [answer for answer in group if isinstance(answer, Reply)]
    assert len(replies) == 2
    assert threads[0] == (2, True)  # the registration and its event, on the loop
    assert len(threads) == 2
    assert not threads[1][1]  # the group in a worker thread
    assert threads[1][0] >= 4  # both commands and their events, in one frame
    assert {lone.seq, *(a.seq for a in replies)} <= {r.seq for r in recorded(tmp_path)}


async def test_gateways_cannot_send_engine_commands(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve, "127.0.0.1", 0, False)
        client = EngineClient(tmp_path, reconnect_delay=0.01)
        await nursery.start(client.run)
        with trio.fail_after(10):
            await client.connected.wait()
            with pytest.raises(EngineUnavailable) as info:
                await client.request(ClockTick())
        assert info.value.code == "FORBIDDEN"
        nursery.cancel_scope.cancel()


async def test_restart_resumes_the_session(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    engine.open()
    await _submit_direct(engine, ChangePhase(phase="continuous"))
    reply = await _submit_direct(
        engine, RegisterTeam(team_name="alpha", role="arbitrage", api_key_hash="h")
    )
    team = reply.events[0]
    assert isinstance(team, TeamRegistered)
    engine.close()
    before = recorded(tmp_path)

    again = make_engine(tmp_path)
    again.open()
    assert again.core is not None
    assert team.team_id in again.core.teams
    accepted = await _submit_direct(again, order(team.team_id))
    again.close()
    after = recorded(tmp_path)
    assert after[: len(before)] == before
    restart = after[len(before)]
    assert isinstance(restart, EngineStarted)
    assert restart.recovered_seq == before[-1].seq
    assert any(isinstance(e, OrderAccepted) for e in accepted.events)


async def test_a_second_engine_on_the_same_dir_is_refused(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    engine.open()
    try:
        with pytest.raises(logmod.LogError, match="in use"):
            make_engine(tmp_path).open()
    finally:
        engine.close()


async def test_a_command_cut_off_from_its_events_is_completed(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    engine.open()
    head = engine.next_seq
    engine.close()
    # a torn group: the command is in the log, its event is not
    writer = logmod.open_writer(log_dir(tmp_path), CONFIG.log)
    writer.append(
        [RegisterTeam(seq=head, ts=5, team_name="alpha", role="retail", api_key_hash="h")]
    )
    writer.close()

    again = make_engine(tmp_path)
    again.open()
    again.close()
    records = recorded(tmp_path)
    completed = records[head]  # the record right after the command
    assert isinstance(completed, TeamRegistered)
    assert completed.seq == head + 1


async def test_a_log_from_other_rules_is_refused(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    engine.open()
    engine.close()
    writer = logmod.open_writer(log_dir(tmp_path), CONFIG.log)
    head = writer.head_seq
    # an event the core would never produce for this command
    writer.append(
        [
            RegisterTeam(seq=head + 1, ts=5, team_name="alpha", role="retail", api_key_hash="h"),
            TeamRegistered(
                seq=head + 2,
                ts=5,
                team_id="TEAM_9999",
                team_name="alpha",
                role="retail",
                api_key_hash="h",
            ),
        ]
    )
    writer.close()
    with pytest.raises(EngineError, match=f"seq {head + 2}"):
        make_engine(tmp_path).open()


async def test_a_failed_append_refuses_then_heals_without_losing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(tmp_path)
    engine.open()
    await _submit_direct(engine, ChangePhase(phase="continuous"))
    ok = await _submit_direct(
        engine, RegisterTeam(team_name="alpha", role="hedge_fund", api_key_hash="h")
    )
    assert isinstance(ok.events[0], TeamRegistered)
    team_id = ok.events[0].team_id
    real_append = FileLogWriter.append
    failures = iter([OSError(errno.ENOSPC, "No space left on device")])

    def failing_append(self: FileLogWriter, batch: Sequence[Record]) -> None:
        exc = next(failures, None)
        if exc is not None:
            raise exc
        real_append(self, batch)

    monkeypatch.setattr(FileLogWriter, "append", failing_append)
    refused = await _answer(engine, order(team_id))
    assert isinstance(refused, Refused)
    assert refused.code == "SERVICE_UNAVAILABLE"
    assert "No space left" in refused.message
    healed = await _submit_direct(engine, order(team_id))
    engine.close()
    assert any(isinstance(e, OrderAccepted) for e in healed.events)
    records = recorded(tmp_path)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    accepted = [r for r in records if isinstance(r, OrderAccepted)]
    assert len(accepted) == 1  # the refused order left no trace; the healed one is there


async def test_the_clock_walks_the_schedule(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    engine = make_engine(tmp_path)
    engine.append_in_thread = False  # virtual time jumps while a thread works
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve, "127.0.0.1", 0, True)
        with trio.fail_after(60):
            while (
                engine.core is None or engine.core.phase != "closed" or engine.core.tick_number < 5
            ):
                await trio.sleep(1)
        nursery.cancel_scope.cancel()
    records = recorded(tmp_path)
    phases = [r.phase for r in records if isinstance(r, PhaseChanged)]
    assert phases == ["pre_open", "opening_auction", "continuous", "closed"]
    ticks = [r.tick_number for r in records if isinstance(r, TickStarted)]
    assert ticks == [1, 2, 3, 4, 5]


async def _answer(engine: Engine, command: Command) -> Reply | Refused:
    """Run the sequencer just long enough to answer one command."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(engine._sequencer)
        answer = await engine.submit(command)
        nursery.cancel_scope.cancel()
    return answer


async def _submit_direct(engine: Engine, command: Command) -> Reply:
    answer = await _answer(engine, command)
    assert isinstance(answer, Reply), answer
    return answer


async def test_a_stopped_clock_issues_nothing_until_started(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    engine = make_engine(tmp_path)
    engine.append_in_thread = False
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve, "127.0.0.1", 0, True)
        with trio.fail_after(60):
            while engine.core is None or engine.core.tick_number < 2:
                await trio.sleep(0.5)
            await engine.submit(SetClock(running=False))
            stopped_at = engine.core.tick_number
            await trio.sleep(10)  # virtual: ten tick periods
            assert engine.core.tick_number == stopped_at
            await engine.submit(SetClock(running=True))
            while engine.core.tick_number == stopped_at:
                await trio.sleep(0.5)
        nursery.cancel_scope.cancel()


async def test_a_competition_day_ticks_on_chicago_wall_time(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Started at 08:50, the engine waits for 09:30, ticks every 5 minutes on the grid and
    closes at 15:00 Chicago time: 66 ticks, the day of SPEC's competition profile."""
    chicago = zoneinfo.ZoneInfo("America/Chicago")

    def wall(clock: str) -> float:
        moment = datetime.datetime.fromisoformat(f"2026-11-24T{clock}")
        return moment.replace(tzinfo=chicago).timestamp()

    started = wall("08:50") - trio.current_time()
    schedule = COMPETITION["schedule"]
    assert isinstance(schedule, dict)
    config = configmod.load(
        None, schedule=schedule, house={"enabled": False}, retail={"enabled": False}
    )
    engine = Engine(
        tmp_path,
        config,
        seed=11,
        now_ns=lambda: round((started + trio.current_time()) * 1e9),
        append_in_thread=False,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve, "127.0.0.1", 0, True)
        with trio.fail_after(24 * 3600):
            while (
                engine.core is None or engine.core.phase != "closed" or not engine.core.tick_number
            ):
                await trio.sleep(60)
        nursery.cancel_scope.cancel()
    records = recorded(tmp_path)
    ticks = [r for r in records if isinstance(r, TickStarted)]
    assert len(ticks) == 66
    assert ticks[0].ts == pytest.approx(wall("09:30") * 1e9, abs=1e6)
    assert ticks[-1].ts == pytest.approx(wall("14:55") * 1e9, abs=1e6)
    assert all(b.ts - a.ts == pytest.approx(300e9, abs=1e6) for a, b in itertools.pairwise(ticks))
    closed = [r for r in records if isinstance(r, PhaseChanged) and r.phase == "closed"]
    assert [r.ts for r in closed] == [pytest.approx(wall("15:00") * 1e9, abs=1e6)]
