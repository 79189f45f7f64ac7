"""``CoalescingHTTPStream``: the same ASGI messages as hypercorn's, fewer task switches.

Driven through hypercorn's real ``HTTPStream`` machinery and its trio ``TaskGroup``
(the app task and its memory channel are hypercorn's own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import hypercorn.protocol.h11
import pytest
import trio
import trio.testing
from hypercorn.config import Config
from hypercorn.protocol.events import Body, EndBody, Request, StreamClosed
from hypercorn.trio.task_group import TaskGroup
from hypercorn.typing import ConnectionState

from gateway.web import hypercorn_tuning
from gateway.web.hypercorn_stream import CoalescingHTTPStream, put_without_yield, receive_now


class RecordingApp:
    """An ASGI app (hypercorn's wrapper signature) that reads until the body ends."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.reading = trio.Event()  # the app reads once it is set

    async def __call__(self, scope: Any, receive: Any, send: Any, *_: Any) -> None:
        while True:
            await self.reading.wait()
            message = await receive()
            self.messages.append(message)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return


@pytest.fixture
async def task_group() -> AsyncIterator[TaskGroup]:
    async with TaskGroup() as group:
        yield group
        group._nursery.cancel_scope.cancel()  # type: ignore[union-attr]  # apps still reading


def stream(app: RecordingApp, group: TaskGroup, queue: int = 10) -> CoalescingHTTPStream:
    config = Config()
    config.max_app_queue_size = queue

    async def send(event: object) -> None:
        pass

    # what HTTPStream uses of the app and the worker context: the app's call, nothing
    app_wrapper: Any = app
    return CoalescingHTTPStream(app_wrapper, config, None, group, False, None, None, send, 1)  # type: ignore[arg-type]


def request() -> Request:
    headers = [(b"host", b"x"), (b"content-length", b"9")]
    state = ConnectionState({})
    return Request(
        stream_id=1,
        headers=headers,
        http_version="1.1",
        method="POST",
        raw_path=b"/orders",
        state=state,
    )


async def run(events: list[Any], queue: int = 10, *, group: TaskGroup) -> RecordingApp:
    app = RecordingApp()
    app.reading.set()
    s = stream(app, group, queue)
    for event in events:
        await s.handle(event)
    await trio.testing.wait_all_tasks_blocked()
    return app


def test_installed_where_hypercorn_looks_it_up() -> None:
    hypercorn_tuning.install()
    assert hypercorn.protocol.h11.HTTPStream is CoalescingHTTPStream  # type: ignore[attr-defined]


async def test_a_whole_body_is_one_message(task_group: TaskGroup) -> None:
    app = await run(
        [request(), Body(stream_id=1, data=b"{}"), EndBody(stream_id=1)], group=task_group
    )
    assert app.messages == [{"type": "http.request", "body": b"{}", "more_body": False}]


async def test_no_body_is_one_empty_message(task_group: TaskGroup) -> None:
    app = await run([request(), EndBody(stream_id=1)], group=task_group)
    assert app.messages == [{"type": "http.request", "body": b"", "more_body": False}]


async def test_a_body_in_pieces_arrives_in_order_and_ends_once(task_group: TaskGroup) -> None:
    pieces = [Body(stream_id=1, data=part) for part in (b"abc", b"def", b"ghi")]
    app = await run([request(), *pieces, EndBody(stream_id=1)], group=task_group)
    assert [m["body"] for m in app.messages] == [b"abc", b"def", b"ghi"]
    assert [m["more_body"] for m in app.messages] == [True, True, False]


async def test_a_piece_is_handed_on_when_the_next_arrives(task_group: TaskGroup) -> None:
    # a slow upload: the app sees every piece but the newest, never a piece late by two
    app = await run(
        [request(), Body(stream_id=1, data=b"a"), Body(stream_id=1, data=b"b")], group=task_group
    )
    assert app.messages == [{"type": "http.request", "body": b"a", "more_body": True}]


async def test_a_client_gone_mid_body_is_a_disconnect(task_group: TaskGroup) -> None:
    events = [request(), Body(stream_id=1, data=b"a"), StreamClosed(stream_id=1)]
    app = await run(events, group=task_group)
    assert app.messages == [{"type": "http.disconnect"}]


async def test_a_full_channel_still_waits_for_room(task_group: TaskGroup) -> None:
    app = RecordingApp()  # not reading yet
    s = stream(app, task_group, queue=1)
    await s.handle(request())
    pieces = [Body(stream_id=1, data=bytes([65 + i])) for i in range(4)]
    done = trio.Event()

    async def feed() -> None:
        for event in [*pieces, EndBody(stream_id=1)]:
            await s.handle(event)
        done.set()

    task_group.spawn(feed)
    await trio.testing.wait_all_tasks_blocked()
    assert not done.is_set()  # the feeder waits on the full channel, nothing dropped
    app.reading.set()
    await done.wait()
    await trio.testing.wait_all_tasks_blocked()
    assert b"".join(m["body"] for m in app.messages) == b"ABCD"
    assert [m["more_body"] for m in app.messages] == [True, True, True, False]


async def test_a_put_that_is_no_channel_send_is_kept() -> None:
    async def put(message: Any) -> None:
        pass

    assert put_without_yield(put) is put


async def test_receive_now_takes_a_waiting_message_and_waits_for_a_missing_one() -> None:
    send, receive = trio.open_memory_channel[int](2)
    send.send_nowait(1)
    assert await receive_now(receive.receive) == 1
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send.send, 2)
        assert await receive_now(receive.receive) == 2
