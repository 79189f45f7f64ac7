"""The asyncio/trio boundary: neither loop waits on the other."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import trio
import trio.lowlevel

from engine.log.nats.bridge import AsyncioThread


@pytest.fixture
def bridge() -> Iterator[AsyncioThread]:
    b = AsyncioThread("test-bridge")
    try:
        yield b
    finally:
        b.stop()
    assert not b.alive


async def _thread_name() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


async def test_trio_awaits_a_coroutine_run_on_the_asyncio_thread(bridge: AsyncioThread) -> None:
    assert await bridge.run(_thread_name()) == "test-bridge"


async def test_trio_keeps_running_while_asyncio_waits(bridge: AsyncioThread) -> None:
    released = asyncio.Event()
    ticks = 0

    async def wait_for_release() -> str:
        await released.wait()
        return "released"

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks == 20:  # trio ran while the asyncio coroutine was pending
                bridge.call_soon(released.set)
            await trio.lowlevel.checkpoint()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tick)
            assert await bridge.run(wait_for_release()) == "released"
            nursery.cancel_scope.cancel()
    assert ticks >= 20


async def test_a_cancelled_trio_task_cancels_the_asyncio_task(bridge: AsyncioThread) -> None:
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with trio.move_on_after(0.05):
        await bridge.run(forever())
    with trio.fail_after(10):
        while not cancelled.is_set():
            await trio.sleep(0.01)


async def test_errors_cross_as_themselves(bridge: AsyncioThread) -> None:
    async def fail() -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError, match="nope"):
        await bridge.run(fail())


def test_a_plain_thread_waits_for_its_result(bridge: AsyncioThread) -> None:
    assert bridge.run_sync(_thread_name(), 10) == "test-bridge"


def test_run_sync_on_the_asyncio_thread_refuses_instead_of_deadlocking(
    bridge: AsyncioThread,
) -> None:
    async def inner() -> str:
        try:
            bridge.run_sync(_thread_name())
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    assert "deadlock" in bridge.run_sync(inner(), 10)


def test_a_stopped_bridge_refuses_work(bridge: AsyncioThread) -> None:
    bridge.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        bridge.run_sync(_thread_name(), 1)
