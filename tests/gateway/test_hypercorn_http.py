"""Hostile and unusual HTTP/1.1 through hypercorn with our tuning installed, over a socket.

The tuning cuts task switches and scopes on the way of a simple request
(``CoalescingHTTPStream``, the untimed read loop); these say that everything else
still behaves as hypercorn and h11 make it: pipelining, chunked bodies,
``Expect: 100-continue``, bodies in pieces, malformed and oversized heads, clients
that leave mid-body. Answers are parsed by h11's client side, not by string matching.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import h11
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import wrap_app

from gateway.web import fastpath, hypercorn_tuning
from gateway.web.h11_fast import PATHS, SimplePost, simple_post


class EchoApp:
    """Answers every request with the length and the first bytes of its body."""

    def __init__(self) -> None:
        self.disconnected = trio.Event()
        self.bodies: list[bytes] = []
        self.clients: list[trio.SocketStream] = []  # closed when the test ends

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected.set()
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        self.bodies.append(body)
        if body == b"raise":
            raise RuntimeError("an app that fails before it answers")
        answer = b"%d:%s" % (len(body), body[:16])
        headers = [(b"content-type", b"text/plain")]
        if body != b"no length":
            headers.append((b"content-length", b"%d" % len(answer)))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


@pytest.fixture
def config() -> Config:
    config = Config()
    config.h11_max_incomplete_size = 4096
    return config


@pytest.fixture
def simple(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each read was taken by the simple-POST path (True) or left to h11."""
    taken: list[bool] = []

    def spy(*args: Any) -> SimplePost | None:
        request = simple_post(*args)
        taken.append(request is not None)
        return request

    monkeypatch.setattr(hypercorn_tuning, "simple_post", spy)
    return taken


@pytest.fixture
async def served(config: Config) -> AsyncIterator[tuple[int, EchoApp]]:
    hypercorn_tuning.install()
    app = EchoApp()
    server = partial(
        hypercorn_tuning.ContainedTCPServer,
        wrap_app(app, config.wsgi_max_body_size, "asgi"),  # type: ignore[arg-type]
        config,
        WorkerContext(None),
        ConnectionState({}),
    )
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, server, 0, host="127.0.0.1"))
        yield listeners[0].socket.getsockname()[1], app
        for client in app.clients:
            await client.aclose()
        nursery.cancel_scope.cancel()


async def answers(stream: trio.SocketStream, count: int) -> list[tuple[int, bytes]]:
    """``count`` responses (status, body), 1xx ones included, read with h11's client."""
    got: list[tuple[int, bytes]] = []
    status, body = 0, b""
    parser = _ResponseParser()
    while len(got) < count:
        event = parser.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(65536)
            if not data:
                break
            parser.feed(data)
            continue
        if isinstance(event, h11.InformationalResponse):
            got.append((event.status_code, b""))
        elif isinstance(event, h11.Response):
            status, body = event.status_code, b""
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            got.append((status, body))
            parser.next_cycle()
    return got


class _ResponseParser:
    """h11's client, primed with a request per response so that it parses answers."""

    def __init__(self) -> None:
        self.conn = h11.Connection(h11.CLIENT)
        self._prime()

    def _prime(self) -> None:
        # h11 parses only answers to requests it sent: one (never written) per answer
        headers = [("Host", "x"), ("Transfer-Encoding", "chunked")]
        self.conn.send(h11.Request(method="POST", target="/", headers=headers))
        self.conn.send(h11.EndOfMessage())

    def feed(self, data: bytes) -> None:
        self.conn.receive_data(data)

    def next_event(self) -> Any:
        return self.conn.next_event()

    def next_cycle(self) -> None:
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            self._prime()


def post(body: bytes, *extra: bytes) -> bytes:
    head = b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    return head + b"".join(line + b"\r\n" for line in extra) + b"\r\n" + body


async def connect(served: tuple[int, EchoApp]) -> trio.SocketStream:
    port, app = served
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    app.clients.append(stream)
    return stream


def test_the_simple_paths_are_the_fast_paths() -> None:
    assert {path.decode() for path in PATHS} == set(fastpath.PATHS)


async def test_a_simple_post_is_answered_and_the_connection_kept(
    served: tuple[int, EchoApp], simple: list[bool]
) -> None:
    stream = await connect(served)
    for body in (b'{"a": 1}', b'{"b": 22}'):
        await stream.send_all(post(body))
        assert await answers(stream, 1) == [(200, b"%d:%s" % (len(body), body))]
    assert simple == [True, True]  # read without h11, answered as h11 would


async def test_simple_and_h11_requests_alternate_on_one_connection(
    served: tuple[int, EchoApp], simple: list[bool]
) -> None:
    stream = await connect(served)
    chunked = b"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    for request, body in [
        (post(b"a"), b"a"),
        (chunked + b"2\r\nbc\r\n0\r\n\r\n", b"bc"),
        (post(b"def"), b"def"),
        (post(b"gh").replace(b"/orders", b"/other"), b"gh"),
        (post(b"ijkl"), b"ijkl"),
    ]:
        await stream.send_all(request)
        assert await answers(stream, 1) == [(200, b"%d:%s" % (len(body), body))]
    # after h11's answer the next read may come before hypercorn has recycled the
    # connection (h11 reads on while it answers), and h11 takes it: both are right
    assert simple[:2] == [True, False]


async def test_the_request_limit_closes_after_a_simple_answer(
    config: Config, served: tuple[int, EchoApp]
) -> None:
    config.keep_alive_max_requests = 2
    stream = await connect(served)
    await stream.send_all(post(b"1"))
    assert await answers(stream, 1) == [(200, b"1:1")]
    await stream.send_all(post(b"2"))
    raw = b""
    while chunk := await stream.receive_some(65536):  # to the close: the limit ends it
        raw += chunk
    assert raw.startswith(b"HTTP/1.1 200 \r\n")
    assert b"\r\nconnection: close\r\n" in raw.lower()
    assert raw.endswith(b"\r\n\r\n1:2")


async def test_an_app_failing_a_simple_post_is_500_and_closed(
    served: tuple[int, EchoApp], simple: list[bool]
) -> None:
    stream = await connect(served)
    await stream.send_all(post(b"raise"))
    assert [status for status, _ in await answers(stream, 1)] == [500]
    assert await stream.receive_some(10) == b""
    assert simple == [True]


async def test_an_answer_without_a_length_is_chunked_and_kept(
    served: tuple[int, EchoApp], simple: list[bool]
) -> None:
    stream = await connect(served)
    await stream.send_all(post(b"no length"))
    assert await answers(stream, 1) == [(200, b"9:no length")]
    await stream.send_all(post(b"x"))
    assert await answers(stream, 1) == [(200, b"1:x")]
    assert simple == [True, True]


async def test_two_different_lengths_are_400(
    served: tuple[int, EchoApp], simple: list[bool]
) -> None:
    stream = await connect(served)
    await stream.send_all(post(b"abc", b"Content-Length: 4"))
    assert [status for status, _ in await answers(stream, 1)] == [400]
    assert simple == [False]


async def test_pipelined_requests_are_answered_in_order(served: tuple[int, EchoApp]) -> None:
    stream = await connect(served)
    await stream.send_all(post(b"one") + post(b"three") + post(b""))
    assert await answers(stream, 3) == [(200, b"3:one"), (200, b"5:three"), (200, b"0:")]


async def test_a_chunked_body_is_read_whole(served: tuple[int, EchoApp]) -> None:
    app = served[1]
    stream = await connect(served)
    head = b"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    await stream.send_all(head + b"3\r\nabc\r\n")
    await stream.send_all(b"4\r\ndefg\r\n0\r\n\r\n")
    assert await answers(stream, 1) == [(200, b"7:abcdefg")]
    assert app.bodies == [b"abcdefg"]


async def test_expect_100_continue_gets_its_interim_answer(served: tuple[int, EchoApp]) -> None:
    stream = await connect(served)
    await stream.send_all(
        b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    )
    assert await answers(stream, 1) == [(100, b"")]
    await stream.send_all(b"ok")
    assert await answers(stream, 1) == [(200, b"2:ok")]


async def test_a_body_in_pieces_is_one_body(served: tuple[int, EchoApp]) -> None:
    app = served[1]
    stream = await connect(served)
    request = post(b"0123456789" * 50)
    for start in range(0, len(request), 97):
        await stream.send_all(request[start : start + 97])
    assert await answers(stream, 1) == [(200, b"500:0123456789012345")]
    assert app.bodies == [b"0123456789" * 50]


async def test_a_malformed_header_is_400_and_closed(served: tuple[int, EchoApp]) -> None:
    app = served[1]
    stream = await connect(served)
    await stream.send_all(b"POST /orders HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
    assert [status for status, _ in await answers(stream, 1)] == [400]
    assert await stream.receive_some(10) == b""
    assert app.bodies == []


async def test_an_oversized_head_is_refused_and_closed(served: tuple[int, EchoApp]) -> None:
    app = served[1]
    stream = await connect(served)
    await stream.send_all(b"POST /orders HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192)
    assert [status for status, _ in await answers(stream, 1)] == [431]
    assert await stream.receive_some(10) == b""
    assert app.bodies == []


async def test_a_body_longer_than_its_length_is_a_bad_next_request(
    served: tuple[int, EchoApp],
) -> None:
    stream = await connect(served)
    await stream.send_all(post(b"abc")[:-3] + b"abcGARBAGE\r\n\r\n")
    got = await answers(stream, 2)
    assert got[0] == (200, b"3:abc")
    assert got[1][0] == 400  # the extra bytes parsed as a request line
    assert await stream.receive_some(10) == b""


async def test_connection_close_is_answered_then_closed(served: tuple[int, EchoApp]) -> None:
    stream = await connect(served)
    await stream.send_all(post(b"x", b"Connection: close"))
    assert await answers(stream, 1) == [(200, b"1:x")]
    assert await stream.receive_some(10) == b""


async def test_a_client_gone_mid_body_disconnects_the_app(served: tuple[int, EchoApp]) -> None:
    app = served[1]
    stream = await connect(served)
    await stream.send_all(post(b"0123456789")[:-5])
    await stream.aclose()
    with trio.fail_after(5):  # a bound for a hang, not a wait for the outcome
        await app.disconnected.wait()
    assert app.bodies == []
