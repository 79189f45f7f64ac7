"""One supervised child of ``serve``: kept running, restarted when it dies, with a reason.

A ``Keeper`` owns one slot (the engine, ``gw-1``, ...): it waits for the child's exit,
says why it died (exit status or signal name), asks the ``Backoff`` how long to wait,
and starts it again. The supervisor stops a keeper by cancelling it, before it signals
the child itself, so an exit that the supervisor caused is never taken for a crash.

An exit listed in ``final`` is not a crash: the child finished its work (the engine
after the closing bell, ``engine.lifeline.DAY_ENDED_EXIT``), so the keeper records it
and returns without a restart.
"""

from __future__ import annotations

import datetime
import math
import signal
import sys
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Generic, Protocol, TypeVar

import trio

from engine.serve.policy import Backoff

STARTING = "starting"
RUNNING = "running"
RESTARTING = "restarting"
BACKOFF = "backoff"
ENDED = "ended"
STOPPED = "stopped"  # by the organiser's stop


class Process(Protocol):
    @property
    def pid(self) -> int: ...

    async def wait(self) -> int: ...


P = TypeVar("P", bound=Process)


def describe(code: int) -> str:
    """An exit status as the organiser reads it: ``killed by SIGKILL``, ``exit status 1``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Keeper(Generic[P]):
    def __init__(
        self,
        name: str,
        start: Callable[[], P],
        *,
        ready: Callable[[P], Awaitable[bool]] | None = None,
        policy: Backoff | None = None,
        final: Collection[int] = (),
        on_change: Callable[[], None] = lambda: None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self._start = start
        self._ready = ready
        self.policy = policy or Backoff()
        self.final = final
        self._on_change = on_change
        self._say = say or _stderr
        self.proc: P | None = None
        self.state = STARTING
        self.restarts = 0
        self.last_exit: str | None = None
        self.last_exit_at: str | None = None
        self.backoff_seconds = 0.0
        self.exit_code: int | None = None
        self.died_at = -math.inf  # trio time of the last death: which child died last

    def start(self) -> P:
        """The first start (the supervisor waits for it to be ready, then calls ``run``)."""
        self.proc = self._start()
        self._on_change()
        return self.proc

    async def run(self, first: P) -> None:
        """Keep the child running, from the already started ``first``, until cancelled."""
        proc = self.proc = first
        self.state = RUNNING
        self._on_change()
        started = trio.current_time()
        while True:
            code = await proc.wait()
            died = self.died_at = trio.current_time()
            if code in self.final:
                self.finished(code)
                return
            pid = proc.pid
            self._exited(code)
            delay = self.policy.next_delay(started, died)
            self.backoff_seconds = delay
            if delay:
                self.state = BACKOFF
                self._say(
                    f"{self.name} (pid {pid}) died: {self.last_exit}, up {died - started:.1f} s;"
                    f" died {self.policy.streak} times in a row: restarting in {delay:g} s"
                )
            else:
                self.state = RESTARTING
                self._say(f"{self.name} (pid {pid}) died: {self.last_exit}; restarting it")
            self._on_change()
            await trio.sleep(delay)
            proc = await self._restart()
            started = trio.current_time()
            serving = await self._ready(proc) if self._ready is not None else True
            self.state = RUNNING
            took = f"serving {trio.current_time() - died:.1f} s after it died"
            self._say(
                f"{self.name} restarted (pid {proc.pid}, restart {self.restarts}): "
                + (took if serving else "not serving yet")
            )
            self._on_change()

    def _exited(self, code: int) -> None:
        self.exit_code, self.last_exit = code, describe(code)
        self.last_exit_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")

    def finished(self, code: int) -> None:
        """The child exited with one of ``final``: done, not to be restarted."""
        self._exited(code)
        self.state = ENDED
        pid = self.proc.pid if self.proc is not None else None
        self._say(f"{self.name} (pid {pid}) finished: {self.last_exit}; not restarted")
        self._on_change()

    async def _restart(self) -> P:
        while True:
            try:
                proc = self._start()
            except OSError as exc:  # out of processes or file descriptors: wait, as for a crash
                now = trio.current_time()
                delay = self.policy.next_delay(now, now)
                self._say(f"{self.name} could not be started: {exc}; retrying in {delay:g} s")
                await trio.sleep(delay)
                continue
            # kept at once, before any wait: a stop (a cancel) must find it to signal it
            self.proc, self.restarts = proc, self.restarts + 1
            self.state, self.backoff_seconds = RESTARTING, 0.0
            self._on_change()
            return proc

    def status(self) -> dict[str, Any]:
        return {
            "pid": self.proc.pid if self.proc is not None else None,
            "state": self.state,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "last_exit_at": self.last_exit_at,
            "backoff_seconds": self.backoff_seconds,
        }


def _stderr(line: str) -> None:
    print(f"tradepit: {line}", file=sys.stderr, flush=True)
