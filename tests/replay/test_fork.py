"""Forking a recorded session: the verified copy, the fork record, and what runs after it.

The fidelity test runs each fork in an in-process engine on the lockstep clock, in
virtual time: with no bot under test and the others' commands replayed, the fork must
go on exactly as its parent did (every record after the fork point, tick digests,
trades, times and all, the engine's own start records aside).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import msgspec
import pytest
import trio

from engine import config as configmod
from engine import log as logmod
from engine import records as records_mod
from engine.records import (
    AnyRecord,
    EngineStarted,
    ForkSession,
    SubmitOrder,
    TeamRegistered,
    TickBudgetExpired,
    TickStarted,
    Trade,
)
from engine.replay.fork import ForkError, ForkOptions, fork, hash_key
from engine.replay.reexecute import Divergence, Reexecution
from engine.replay.verify import verify
from engine.shell.clock import LockstepClock
from engine.shell.sequencer import Engine

REPLAYS = Path(__file__).resolve().parents[2] / "replays"
NAMES = ["quiet-demo", "news-signals", "crash-restart"]


def records(path: Path) -> list[AnyRecord]:
    with logmod.open_reader(logmod.log_directory(path)) as reader:
        return list(reader.read(1))


def midpoint(name: str) -> int:
    return len(records(REPLAYS / name)) // 2


def digest_at(path: Path, seq: int) -> str:
    run = Reexecution()
    for record in records(path)[:seq]:
        run.feed(record)
    assert run.core is not None
    return run.core.digest()


def test_a_fork_is_a_verified_copy_then_a_record_naming_its_parent(tmp_path: Path) -> None:
    parent = records(REPLAYS / "news-signals")
    made = fork(REPLAYS / "news-signals", tmp_path / "f", ForkOptions(at_seq=len(parent) // 2))
    child = records(tmp_path / "f")
    n = made.parent_seq
    assert n >= len(parent) // 2
    # byte for byte: the records, not only their values
    assert [msgspec.msgpack.encode(r) for r in child[:n]] == [
        msgspec.msgpack.encode(r) for r in parent[:n]
    ]
    marker = child[n]
    assert isinstance(marker, ForkSession)
    assert (marker.seq, marker.parent_seq, marker.session_id) == (n + 1, n, "f")
    assert marker.parent_session_id == "news-signals"
    assert marker.parent_digest == digest_at(REPLAYS / "news-signals", n)
    assert isinstance(parent[n], type(parent[n]))  # the parent goes on with a command
    out = io.StringIO()
    assert verify(tmp_path / "f", out=out) == 0, out.getvalue()


def test_a_seq_inside_a_group_forks_after_the_whole_group(tmp_path: Path) -> None:
    parent = records(REPLAYS / "quiet-demo")
    tick = next(r for r in parent if isinstance(r, TickStarted) and r.tick_number == 3)
    made = fork(REPLAYS / "quiet-demo", tmp_path / "f", ForkOptions(at_seq=tick.seq))
    # the clock tick's group runs on after its TickStarted: all of it is copied
    assert made.tick == 3
    following = parent[made.parent_seq]
    assert msgspec.structs.asdict(following)  # a record follows the fork point
    assert type(following).__name__ in {"SubmitOrder", "SubmitQuote", "CancelOrder",
                                        "CancelAll", "ClockTick", "ChangePhase",
                                        "RegisterTeam", "EngineStarted"}  # fmt: skip


def test_at_tick_forks_right_after_that_tick_started(tmp_path: Path) -> None:
    made = fork(REPLAYS / "news-signals", tmp_path / "f", ForkOptions(at_tick=10))
    child = records(tmp_path / "f")
    ticks = [r for r in child if isinstance(r, TickStarted)]
    assert ticks[-1].tick_number == 10 == made.tick


def test_a_wrong_parent_digest_is_a_divergence(tmp_path: Path) -> None:
    fork(REPLAYS / "quiet-demo", tmp_path / "f", ForkOptions(at_tick=5))
    child = records(tmp_path / "f")
    marker = child[-1]
    assert isinstance(marker, ForkSession)
    run = Reexecution()
    for record in child[:-1]:
        run.feed(record)
    with pytest.raises(Divergence, match="the state before the fork"):
        run.feed(msgspec.structs.replace(marker, parent_digest="0" * 32))


def test_a_fork_of_a_fork(tmp_path: Path) -> None:
    first = fork(REPLAYS / "news-signals", tmp_path / "a", ForkOptions(at_tick=6))
    second = fork(tmp_path / "a", tmp_path / "b", ForkOptions(at_seq=first.parent_seq + 1))
    assert second.parent_session_id == "a"
    assert verify(tmp_path / "b", out=io.StringIO()) == 0
    child = records(tmp_path / "b")
    assert [type(r) for r in child].count(ForkSession) == 2


def test_a_new_team_joins_with_a_key_only_its_bot_holds(tmp_path: Path) -> None:
    made = fork(REPLAYS / "news-signals", tmp_path / "f", ForkOptions(at_tick=8, role="hedge_fund"))
    child = records(tmp_path / "f")
    joined = child[made.parent_seq + 1]  # made by the fork record, right after it
    assert isinstance(joined, TeamRegistered)
    assert joined.team_id == f"TEAM_FORK_{made.parent_seq}"
    assert joined.team_id == made.team_id
    assert made.api_key is not None
    assert joined.api_key_hash == hash_key(made.api_key)
    keys = json.loads((tmp_path / "f" / "keys.json").read_text())
    assert keys == {"team_id": made.team_id, "api_key": made.api_key}
    assert (tmp_path / "f" / "keys.json").stat().st_mode & 0o077 == 0
    assert made.api_key not in (tmp_path / "f" / "log").joinpath(
        "00000000000000000001.seg"
    ).read_bytes().decode("latin-1")


def test_a_taken_over_team_answers_to_its_new_key_only(tmp_path: Path) -> None:
    from gateway.projection.fold import Projection

    parent = records(REPLAYS / "news-signals")
    fund = next(r for r in parent if isinstance(r, TeamRegistered) and r.team_name == "fund-bot")
    made = fork(REPLAYS / "news-signals", tmp_path / "f",
                ForkOptions(at_tick=12, takeover=fund.team_id))  # fmt: skip
    assert made.team_id == fund.team_id
    assert made.api_key is not None
    projection = Projection()
    for record in records(tmp_path / "f"):
        projection.apply(record)
    assert projection.team_for_key_hash(fund.api_key_hash) is None
    team = projection.team_for_key_hash(hash_key(made.api_key))
    assert team is not None
    assert team.team_id == fund.team_id
    assert projection.session_id == "f"
    # its recorded commands after the fork point are not the fork's to replay
    assert made.dropped == {"the taken-over team's": made.dropped["the taken-over team's"]}
    assert made.dropped["the taken-over team's"] > 0


def test_a_fork_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    with pytest.raises(ForkError, match="not a registered team"):
        fork(REPLAYS / "quiet-demo", tmp_path / "a", ForkOptions(at_tick=3, takeover="HOUSE"))
    with pytest.raises(ForkError, match="ends at tick"):
        fork(REPLAYS / "quiet-demo", tmp_path / "b", ForkOptions(at_tick=10_000))
    fork(REPLAYS / "quiet-demo", tmp_path / "c", ForkOptions(at_tick=3))
    with pytest.raises(ForkError, match="holds a session"):
        fork(REPLAYS / "quiet-demo", tmp_path / "c", ForkOptions(at_tick=3))


async def run_fork(path: Path) -> Engine:
    """Serve a fork in-process until its clock has nothing more to do."""
    engine = Engine(path, configmod.Config(), append_in_thread=False)
    engine.open()
    assert isinstance(engine.clock, LockstepClock)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve)
        await engine.clock.finished.wait()
        nursery.cancel_scope.cancel()
    return engine


def after(rs: list[AnyRecord], seq: int) -> list[dict[str, object]]:
    """The records after ``seq`` without their seqs, the engine's own starts aside."""
    out = []
    for r in rs:
        if r.seq > seq and not isinstance(r, EngineStarted | ForkSession):
            fields = msgspec.structs.asdict(r)
            del fields["seq"]
            out.append({"k": type(r).__name__, **fields})
    return out


@pytest.mark.parametrize("name", NAMES)
async def test_a_fork_without_a_bot_reproduces_its_parent(
    name: str, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    parent = records(REPLAYS / name)
    options = ForkOptions(at_seq=len(parent) // 2, wait_for_bot=False)
    made = fork(REPLAYS / name, tmp_path / "f", options)
    engine = await run_fork(tmp_path / "f")
    child = records(tmp_path / "f")
    want, got = after(parent, made.parent_seq), after(child, made.parent_seq)
    # the same fills, positions (in every tick digest) and times, tick after tick
    assert [r for r in got if r["k"] == "Trade"] == [r for r in want if r["k"] == "Trade"]
    assert [r for r in got if r["k"] == "TickStarted"] == [
        r for r in want if r["k"] == "TickStarted"
    ]
    assert got == want
    assert engine.clock.expired == 0 if isinstance(engine.clock, LockstepClock) else False
    assert verify(tmp_path / "f", out=io.StringIO()) == 0


async def test_others_drop_leaves_only_the_simulated_market(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    options = ForkOptions(at_tick=5, others="drop", wait_for_bot=False)
    made = fork(REPLAYS / "news-signals", tmp_path / "f", options)
    await run_fork(tmp_path / "f")
    child = records(tmp_path / "f")
    bots = {r.team_id for r in child if isinstance(r, TeamRegistered) and r.api_key_hash}
    later = [r for r in child if r.seq > made.parent_seq]
    assert not [r for r in later if isinstance(r, SubmitOrder) and r.team_id in bots]
    assert [r for r in later if isinstance(r, Trade)]  # the house and retail go on trading
    assert verify(tmp_path / "f", out=io.StringIO()) == 0


async def test_a_bot_that_never_says_done_costs_a_budget_per_tick(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    options = ForkOptions(at_tick=15, role="market_maker", tick_budget_seconds=0.5)
    made = fork(REPLAYS / "news-signals", tmp_path / "f", options)
    engine = Engine(tmp_path / "f", configmod.Config(), append_in_thread=False)
    engine.open()
    clock = engine.clock
    assert isinstance(clock, LockstepClock)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve)
        started = trio.current_time()
        await clock.finished.wait()
        elapsed = trio.current_time() - started
        nursery.cancel_scope.cancel()
    child = records(tmp_path / "f")
    expired = [r for r in child if isinstance(r, TickBudgetExpired)]
    assert expired
    assert all(r.team_ids == [made.team_id] for r in expired)
    assert clock.expired == len(expired)
    # the first wait is the start budget (the bot is starting), every other one 0.5 s
    assert elapsed == pytest.approx(60.0 + 0.5 * (len(expired) - 1))
    assert verify(tmp_path / "f", out=io.StringIO()) == 0


def test_the_fork_record_decodes_in_a_log_of_old_records() -> None:
    # schemas only grow: a record type added at the end of the union
    marker = ForkSession(session_id="s", parent_session_id="p", parent_seq=1, parent_digest="d")
    assert records_mod.decode(records_mod.encode(marker)) == marker


async def test_a_fork_stopped_and_resumed_replays_each_command_once(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    parent = records(REPLAYS / "news-signals")
    options = ForkOptions(at_seq=len(parent) // 3, wait_for_bot=False)
    made = fork(REPLAYS / "news-signals", tmp_path / "f", options)
    engine = Engine(tmp_path / "f", configmod.Config(), append_in_thread=False)
    engine.open()
    core = engine.core
    assert core is not None
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve)
        while core.tick_number < made.tick + 4:  # stop it part of the way
            await trio.lowlevel.checkpoint()
        nursery.cancel_scope.cancel()
    await run_fork(tmp_path / "f")  # a new engine resumes the fork from its log
    want, got = after(parent, made.parent_seq), after(records(tmp_path / "f"), made.parent_seq)
    assert got == want


def test_the_replay_viewer_seeks_in_a_fork(tmp_path: Path) -> None:
    from gateway.web.dashboard import seek

    made = fork(REPLAYS / "news-signals", tmp_path / "f", ForkOptions(at_tick=9, role="arbitrage"))
    view = seek(tmp_path / "f", made.records)
    assert view["head_seq"] == made.records
    assert made.team_id is not None
    assert made.team_id in json.dumps(view)


async def test_a_new_team_never_takes_the_id_of_a_team_the_parent_registers_later(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # at tick 0 no bot has registered yet: the parent's bots register after the fork
    options = ForkOptions(at_tick=0, role="market_maker", start_budget_seconds=0.1,
                          tick_budget_seconds=0.1)  # fmt: skip
    made = fork(REPLAYS / "news-signals", tmp_path / "f", options)
    await run_fork(tmp_path / "f")
    parent = [r for r in records(REPLAYS / "news-signals") if isinstance(r, TeamRegistered)]
    child = [r for r in records(tmp_path / "f") if isinstance(r, TeamRegistered)]
    assert [(r.team_id, r.team_name) for r in child if r.team_id != made.team_id] == [
        (r.team_id, r.team_name) for r in parent
    ]
    # the replayed orders are their teams', never the bot's (which sent none)
    orders = [r for r in records(tmp_path / "f") if isinstance(r, SubmitOrder)]
    assert orders
    assert all(r.team_id != made.team_id for r in orders)
