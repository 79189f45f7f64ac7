"""Our changes to hypercorn: one write per answer, the keep-alive timer, containment."""

from __future__ import annotations

import types
from typing import Any

import h11
import hypercorn.protocol
import pytest
import trio
import trio.testing
from hypercorn.events import RawData
from hypercorn.protocol.ws_stream import FrameTooLargeError
from wsproto.events import TextMessage
from wsproto.frame_protocol import FrameProtocol

from gateway.web import hypercorn_tuning
from gateway.web.hypercorn_tuning import CoalescingH11Protocol, KeepAliveTimer, client_messages


def protocol_after_a_request() -> tuple[CoalescingH11Protocol, list[bytes]]:
    written: list[bytes] = []

    async def send(event: object) -> None:
        assert isinstance(event, RawData)
        written.append(event.data)

    protocol = CoalescingH11Protocol.__new__(CoalescingH11Protocol)
    protocol.connection = h11.Connection(h11.SERVER)
    protocol.send = send
    protocol.connection.receive_data(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(protocol.connection.next_event(), h11.Request)
    assert isinstance(protocol.connection.next_event(), h11.EndOfMessage)
    return protocol, written


@pytest.mark.trio
async def test_head_and_body_go_out_in_one_write() -> None:
    protocol, written = protocol_after_a_request()
    await protocol._send_h11_event(
        h11.Response(status_code=200, headers=[(b"content-length", b"2")])
    )
    assert written == []  # held
    await protocol._send_h11_event(h11.Data(data=b"ok"))
    assert len(written) == 1
    assert written[0].startswith(b"HTTP/1.1 200 ")
    assert written[0].endswith(b"\r\n\r\nok")
    await protocol._send_h11_event(h11.EndOfMessage())
    assert len(written) == 1  # nothing left to write with a content-length: no empty write


@pytest.mark.trio
async def test_a_head_without_body_goes_out_at_the_end_of_the_message() -> None:
    protocol, written = protocol_after_a_request()
    await protocol._send_h11_event(
        h11.Response(status_code=204, headers=[(b"content-length", b"0")])
    )
    await protocol._send_h11_event(h11.EndOfMessage())
    assert len(written) == 1
    assert written[0].startswith(b"HTTP/1.1 204 ")


def test_installed_where_hypercorn_looks_it_up() -> None:
    hypercorn_tuning.install()
    assert hypercorn.protocol.H11Protocol is CoalescingH11Protocol  # type: ignore[attr-defined]


class FakeServer:
    """What ``KeepAliveTimer`` uses of hypercorn's ``TCPServer``."""

    def __init__(self) -> None:
        self.config = types.SimpleNamespace(keep_alive_timeout=5.0)
        self.context = types.SimpleNamespace(terminated=trio.Event())
        self.closed_at: float | None = None

    async def _initiate_server_close(self) -> None:
        self.closed_at = trio.current_time()


class Spawner:
    def __init__(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery

    def spawn(self, func: Any, *args: Any) -> None:
        self.nursery.start_soon(func, *args)


async def started_timer(nursery: trio.Nursery) -> tuple[KeepAliveTimer, FakeServer]:
    server = FakeServer()
    timer = KeepAliveTimer(server)  # type: ignore[arg-type]
    await timer.restart(Spawner(nursery), lambda: None)  # a new connection is idle
    return timer, server


async def test_an_idle_connection_closes_after_the_keep_alive_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        timer, server = await started_timer(nursery)
        await trio.sleep(3)
        await timer.stop()  # a request
        await trio.sleep(60)  # however long it takes, a busy connection stays
        assert server.closed_at is None
        await timer.restart(Spawner(nursery), lambda: None)  # answered: idle again
    assert server.closed_at == start + 63 + 5


async def test_shutdown_closes_an_idle_connection_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        _, server = await started_timer(nursery)
        await trio.sleep(1)
        server.context.terminated.set()
    assert server.closed_at == start + 1


async def test_shutdown_lets_a_busy_connection_finish_its_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        timer, server = await started_timer(nursery)
        await timer.stop()
        server.context.terminated.set()
        await trio.sleep(2)
        assert server.closed_at is None
        await timer.restart(Spawner(nursery), lambda: None)
    assert server.closed_at == start + 2


async def test_a_connection_that_ends_busy_ends_its_timer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # issue 38 point 1: the task waited for an answer that never came, and kept the
    # connection's nursery (and every object of the connection) for good
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        timer, server = await started_timer(nursery)
        await timer.stop()  # a request (Connection: close, a WebSocket, ...)
        await trio.sleep(1)
        timer.close()  # the connection ended before it was idle again
        await timer.restart(Spawner(nursery), lambda: None)  # a late event: no new task
    assert trio.current_time() == start + 1  # the nursery did not wait
    assert server.closed_at is None  # nothing left to close


async def test_a_connection_that_ends_busy_during_shutdown_ends_its_timer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        timer, server = await started_timer(nursery)
        await timer.stop()
        server.context.terminated.set()  # SIGTERM: the timer waits for the answer
        await trio.sleep(1)
        timer.close()  # which never comes: the client went
    assert trio.current_time() == start + 1
    assert server.closed_at is None


def test_a_message_buffer_that_overflows_is_emptied() -> None:
    # hypercorn keeps its buffer after the 1009 close and writes every later piece of
    # the message to it before checking: without bound, for a client that goes on
    buffer = hypercorn_tuning.BoundedBuffer(8)
    buffer.extend(TextMessage(data="x" * 6, message_finished=False))
    for _ in range(3):  # the rest of a long message, piece after piece
        with pytest.raises(FrameTooLargeError):
            buffer.extend(TextMessage(data="x" * 9, message_finished=False))
        assert buffer.length == 0
        assert buffer.value is None


def client_frames(*messages: str | bytes, fin: bool = True) -> bytes:
    """``messages`` as a client sends them: masked frames, from wsproto's own encoder."""
    protocol = FrameProtocol(client=True, extensions=[])
    return b"".join(bytes(protocol.send_data(m, fin)) for m in messages)


def test_simple_client_frames_are_read_without_wsproto() -> None:
    messages: list[str | bytes] = ["a", "x" * 125, "y" * 126, "z" * 65535, "ünï", b"\x00\x01"]
    data = client_frames(*messages)
    assert client_messages(data, 1 << 20) == (messages, len(data))
    # a frame not all there yet waits for the rest in wsproto's buffer
    assert client_messages(data + client_frames("next")[:-1], 1 << 20) == (messages, len(data))


@pytest.mark.parametrize(
    "tail",
    [
        bytes(FrameProtocol(client=True, extensions=[]).ping(b"hi")),  # a control frame
        client_frames("part", fin=False),  # a fragment
        client_frames("x" * 65),  # over the limit: wsproto closes 1009
        client_frames("x" * 70_000),  # a 64-bit length
        b"\x81\xfe\x00\x05" + b"\x00" * 4 + b"hello",  # a 2-byte length where 1 sufficed
        b"\x81\x82" + b"\x00" * 4 + b"\xc3\x28",  # not UTF-8: wsproto closes 1007
        b"\x81\x05hello",  # not masked
        b"\xc1\x85" + b"\x00" * 4 + b"hello",  # an RSV bit (no extension was agreed)
    ],
    # named, not shown: wsproto masks with random keys, and pytest-xdist's workers must
    # collect the same test ids
    ids=[
        "ping",
        "fragment",
        "over-limit",
        "64-bit-length",
        "long-length",
        "not-utf8",
        "unmasked",
        "rsv-bit",
    ],
)
def test_any_other_frame_is_left_to_wsproto_with_what_follows(tail: bytes) -> None:
    head = client_frames("first", "second")
    assert client_messages(head + tail + client_frames("after"), 64) == (
        ["first", "second"],
        len(head),
    )
