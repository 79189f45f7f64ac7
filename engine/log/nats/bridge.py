"""The one boundary between nats-py (asyncio) and tradepit (trio).

Theory of operation
-------------------
nats-py is asyncio-only; the engine and gateways are trio. Rather than run trio-asyncio
(another event loop mode in every process), the NATS client lives on its own asyncio
loop in a daemon thread, owned by ``AsyncioThread``. Everything crosses in one of
three ways, none of which blocks either loop:

- ``await bridge.run(coro)`` from trio: the coroutine is scheduled on the asyncio loop
  (``run_coroutine_threadsafe``); its done callback wakes the trio task through the
  trio token (``TrioToken.run_sync_soon``, safe from any thread). A cancelled trio
  task cancels the asyncio task.
- ``bridge.run_sync(coro)`` from a thread that is neither loop (a trio worker thread
  in ``trio.to_thread``, or start-up code before ``trio.run``): blocks that thread only.
  The engine's log writer uses it: the append runs in a worker thread already.
- callbacks from asyncio into trio (a command arriving on a subscription):
  ``token.run_sync_soon(fn, ...)`` with a synchronous ``fn`` that never blocks (it puts
  the item in a bounded trio channel or refuses it).

Calling ``run_sync`` on the asyncio thread itself would deadlock: it raises instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import trio

T = TypeVar("T")


class AsyncioThread:
    """An asyncio event loop running forever in a daemon thread."""

    def __init__(self, name: str = "tradepit-nats") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if not self._thread.is_alive():
            coro.close()
            raise RuntimeError("the asyncio thread has stopped")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run_sync(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the asyncio loop and wait for it in this (other) thread."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("run_sync called on the asyncio thread: it would deadlock")
        return self.submit(coro).result(timeout)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the asyncio loop; the calling trio task waits without blocking."""
        future = self.submit(coro)
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()

        def wake(_: concurrent.futures.Future[T]) -> None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(done.set)

        future.add_done_callback(wake)
        try:
            await done.wait()
        except trio.Cancelled:
            future.cancel()
            raise
        return future.result()

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Run a plain callable on the asyncio loop, from any thread; returns at once."""
        with contextlib.suppress(RuntimeError):  # the loop already closed: nothing to do
            self.loop.call_soon_threadsafe(fn)

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self.call_soon(self.loop.stop)
            self._thread.join(timeout)
