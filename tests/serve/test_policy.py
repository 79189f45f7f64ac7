"""The restart schedule of ``serve`` (``engine.serve.policy``, ``engine.serve.keeper``),
on trio's MockClock: fake children that die on cue, no processes and no waiting."""

from __future__ import annotations

import itertools
import signal

import pytest
import trio
import trio.testing

from engine.serve import keeper
from engine.serve.keeper import Keeper, describe
from engine.serve.policy import Backoff

_pids = itertools.count(1000)


class Fake:
    """A child that exits with ``code`` ``lifetime`` seconds after it was started."""

    def __init__(self, lifetime: float, code: int = -signal.SIGKILL) -> None:
        self.pid = next(_pids)
        self.started = trio.current_time()
        self.code = code
        self.lifetime = lifetime

    async def wait(self) -> int:
        await trio.sleep_until(self.started + self.lifetime)
        return self.code


def test_the_first_death_is_restarted_at_once_then_the_pause_doubles_to_a_cap() -> None:
    policy = Backoff(first=1.0, factor=2.0, cap=30.0, stable=30.0)
    t, delays = 0.0, []
    for _ in range(8):
        delay = policy.next_delay(t, t + 2.0)  # up two seconds each time
        delays.append(delay)
        t += 2.0 + delay
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_child_that_stayed_up_a_while_starts_a_new_streak() -> None:
    policy = Backoff(first=1.0, stable=30.0)
    assert [policy.next_delay(0, 1) for _ in range(3)] == [0.0, 1.0, 2.0]
    assert policy.next_delay(100.0, 130.0) == 0.0  # up 30 s: forgiven
    assert policy.next_delay(130.0, 131.0) == 1.0  # and counted again from there
    assert policy.streak == 2


def test_exit_statuses_read_as_the_organiser_reads_them() -> None:
    assert describe(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert describe(1) == "exit status 1"
    assert describe(0) == "exit status 0"


async def test_a_keeper_restarts_a_dying_child_on_the_schedule(
    autojump_clock: trio.testing.MockClock,
) -> None:
    starts: list[float] = []
    said: list[str] = []
    seen: list[tuple[float, str, bool]] = []  # (time, state, backoff) at each change

    def start() -> Fake:
        starts.append(trio.current_time())
        return Fake(lifetime=2.0)

    k: Keeper[Fake] = Keeper(
        "gw-2",
        start,
        policy=Backoff(first=1.0, cap=4.0, stable=30.0),
        say=said.append,
        on_change=lambda: seen.append((trio.current_time(), k.state, k.state == keeper.BACKOFF)),
    )
    with trio.move_on_after(20.0):
        await k.run(k.start())
    # up 2 s each time; pauses 0, 1, 2, 4, 4, ... (the cap)
    assert starts == [0.0, 2.0, 5.0, 9.0, 15.0]
    assert k.restarts == 4
    assert k.last_exit == "killed by SIGKILL"
    assert said[0] == f"gw-2 (pid {k.status()['pid'] - 4}) died: killed by SIGKILL; restarting it"
    assert "died 2 times in a row: restarting in 1 s" in said[2]
    # the state a /health poll sees: in backoff exactly during the pauses
    backoffs = [(t, s) for t, s, b in seen if b]
    assert backoffs == [(4.0, "backoff"), (7.0, "backoff"), (11.0, "backoff"), (17.0, "backoff")]
    assert k.state == keeper.BACKOFF  # cancelled at 20 s, in its pause before 21 s
    assert k.backoff_seconds == 4.0


async def test_a_keeper_forgets_the_streak_of_a_child_that_ran_a_while(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lifetimes = iter([1.0, 1.0, 60.0, 1.0, 10_000.0])
    starts: list[float] = []

    def start() -> Fake:
        starts.append(trio.current_time())
        return Fake(next(lifetimes))

    k: Keeper[Fake] = Keeper("engine", start, policy=Backoff(first=1.0, stable=30.0), say=print)
    with trio.move_on_after(200.0):
        await k.run(k.start())
    # 0 up 1, at once; 1 up 1, pause 1; 3 up 60: forgiven, at once; 63 up 1: pause 1
    assert starts == [0.0, 1.0, 3.0, 63.0, 65.0]
    assert k.state == keeper.RUNNING


async def test_a_final_exit_is_not_restarted(autojump_clock: trio.testing.MockClock) -> None:
    starts = 0

    def start() -> Fake:
        nonlocal starts
        starts += 1
        return Fake(5.0, code=10)

    changes = 0

    def changed() -> None:
        nonlocal changes
        changes += 1

    k: Keeper[Fake] = Keeper("engine", start, final=(10,), on_change=changed, say=print)
    await k.run(k.start())  # returns: no restart, no cancel needed
    assert (starts, k.restarts, k.state, k.last_exit) == (1, 0, keeper.ENDED, "exit status 10")
    assert trio.current_time() == 5.0
    assert changes == 3  # started, running, ended


async def test_readiness_is_awaited_and_a_cancel_finds_the_new_child(
    autojump_clock: trio.testing.MockClock,
) -> None:
    procs: list[Fake] = []

    def start() -> Fake:
        procs.append(Fake(lifetime=1.0 if not procs else 1e9))
        return procs[-1]

    async def ready(proc: Fake) -> bool:
        await trio.sleep(3.0)  # a gateway folding the log before it listens
        return True

    said: list[str] = []
    k: Keeper[Fake] = Keeper("gw-1", start, ready=ready, say=said.append)
    with trio.move_on_after(2.0):  # the organiser stops mid-restart
        await k.run(k.start())
    assert k.proc is procs[1]  # the stop signals the child being started, not the dead one
    assert k.state == keeper.RESTARTING
    with trio.move_on_after(10.0):
        await k.run(procs[1])
    assert said[-1] == f"gw-1 (pid {procs[0].pid}) died: killed by SIGKILL; restarting it"


@pytest.mark.parametrize("errors", [1, 3])
async def test_a_child_that_cannot_even_be_started_is_retried_with_the_backoff(
    autojump_clock: trio.testing.MockClock, errors: int
) -> None:
    calls: list[float] = []

    def start() -> Fake:
        calls.append(trio.current_time())
        if 1 < len(calls) <= 1 + errors:
            raise OSError(24, "Too many open files")
        return Fake(lifetime=1.0 if len(calls) == 1 else 1e9)

    k: Keeper[Fake] = Keeper("gw-1", start, policy=Backoff(first=1.0, stable=30.0), say=print)
    with trio.move_on_after(100.0):
        await k.run(k.start())
    assert len(calls) == 2 + errors
    assert k.restarts == 1
    assert k.state == keeper.RUNNING
