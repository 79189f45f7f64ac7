"""How far the team's stream has been applied, and a bounded wait for a seq.

Read your writes on a lockstep session (docs/backtest.md, "Determinism"): an answer
comes on the REST call or the order socket, the messages it caused (the order's ack,
its fills, a counterparty's) on the stream socket, and which arrives first is the
machine's choice. The gateway answers a round only once it has folded it and says how
far the team's stream was then (``X-Stream-Seq``, a response frame's ``stream_seq``);
the client holds the answer until the stream has applied that seq, so the state a bot
reads after an answer is the same on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

#: How long an answer waits for the stream: a stream this far behind is broken or
#: reconnecting, and a bot is better served late and warned than stalled.
WAIT_SECONDS = 5.0


class Applied:
    """The seq the stream has applied to its state; ``reach`` waits for a later one."""

    def __init__(self) -> None:
        """Nothing applied yet."""
        self.seq = 0
        #: the task that pulls the stream: a wait in it could never end
        self.consumer: asyncio.Task[Any] | None = None
        self._paused = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def advance(self, seq: int) -> None:
        """The stream applied ``seq``: wake the waits it satisfies."""
        self.seq = seq
        if self._waiters:
            self._release(seq)

    def release_all(self) -> None:
        """The stream stopped: nobody waits for it any more."""
        self._release(None)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """While the consumer waits for something other than the stream (bot.run waits
        for a late step), a wait for the stream would only run out: none starts."""
        self._paused = True
        self.release_all()
        try:
            yield
        finally:
            self._paused = False

    async def reach(self, seq: int, timeout: float = WAIT_SECONDS) -> None:
        """Return once the stream has applied ``seq``; after ``timeout``, warn and return."""
        if self.seq >= seq or self._paused or asyncio.current_task() is self.consumer:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (seq, waiter)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            print(
                f"tradepit: the stream did not reach seq {seq} within {timeout:g} s"
                f" (it is at {self.seq}); the answer is returned without it",
                file=sys.stderr,
                flush=True,
            )
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    def _release(self, upto: int | None) -> None:
        for seq, waiter in self._waiters:
            if (upto is None or seq <= upto) and not waiter.done():
                waiter.set_result(None)
