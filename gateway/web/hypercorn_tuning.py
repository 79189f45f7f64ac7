"""Our changes to how hypercorn's trio worker runs a connection; ``install()`` applies them.

Each is a subclass of a hypercorn class, put where hypercorn looks the class up, and
each is tested in ``tests/gateway/test_hypercorn_tuning.py``:

* ``ContainedTCPServer``: one connection's failure must not stop the server. The trio
  worker runs every connection in the server's nursery, so an error escaping one
  (hypercorn #225: an upgrade request followed by trailing bytes makes h11 raise)
  cancels them all; the upstream fix (#228) was reverted.
* ``KeepAliveTimer``: the keep-alive timeout as one task per connection whose deadline
  moves, instead of a task cancelled and started again around every request (7% of
  the gateway's time under an order load, py-spy).
* ``CoalescingH11Protocol``: a response's head goes out in the same write as its body;
  hypercorn writes the head as soon as the app starts the response, a second system
  call per answer; and the end of a body with a Content-Length, which h11 makes no
  bytes of, is not written at all (an empty write still took the send lock, a
  shielded scope and a checkpoint; with a second cancel scope per write, both gone
  now, 160 of the 1,164 Python calls the gateway made per order).
* ``FramingWSStream``: the WebSocket side. No permessage-deflate (compressing each
  message once per recipient cost most of the fan-out's CPU and ~300 KiB of zlib
  state per connection), and the ASGI extension ``tradepit.websocket.frames``: one
  ``{"type": FRAMES, "texts": [payload, ...]}`` sends many text frames in one socket
  write, framed here without going through wsproto message by message.
* ``CoalescingH11Protocol`` also keeps HTTP/2 off: h2c carried 100 WebSockets on one
  TCP connection beyond the stuck-reader rule (issue 38 point 4; docs/operations.md).
* ``CoalescingH11Protocol`` also reads a whole, simple ``POST /orders`` without h11
  (``gateway.web.h11_fast``: ~250 Python calls an order); anything else goes to h11.
* ``CoalescingHTTPStream`` (``gateway.web.hypercorn_stream``): a whole request body
  is one message to the app, and messages go to the app without a yield while its
  channel has room; ``ContainedTCPServer`` takes its uncontended send lock the same way.
* ``WriteGuard`` (through ``ContainedTCPServer``): hypercorn shields every socket write,
  so a client that stops reading blocks its sender forever, keeps its slot and keeps
  the process from exiting. A WebSocket write that has not completed after
  ``slow_seconds`` aborts the connection (RST), and once ``stop()`` is called (the
  gateway is shutting down) every write, HTTP or WebSocket, gets ``STOP_GRACE``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import struct
from collections.abc import Callable
from typing import Any

import h11
import hypercorn.protocol
import hypercorn.protocol.h11
import hypercorn.trio.run
import trio
from hypercorn.events import Closed, Event, RawData, Updated
from hypercorn.protocol.events import Body, Data, EndBody, Request, Response, StreamClosed
from hypercorn.protocol.events import Event as StreamEvent
from hypercorn.protocol.h11 import STREAM_ID, H11Protocol
from hypercorn.protocol.ws_stream import (
    ASGIWebsocketState,
    FrameTooLargeError,
    WebsocketBuffer,
    WSStream,
)
from hypercorn.trio.tcp_server import MAX_RECV, TCPServer
from hypercorn.typing import H11SendableEvent
from wsproto.connection import ConnectionState
from wsproto.events import Message

from gateway.web.h11_fast import PATHS, Answer, SimplePost, simple_post
from gateway.web.hypercorn_stream import CoalescingHTTPStream, put_without_yield
from gateway.web.refusals import UpgradeRefused, refusals

log = logging.getLogger("tradepit.gateway")


class KeepAliveTimer:
    """Stands in for hypercorn's ``TrioSingleTask`` as ``TCPServer.idle_task``.

    hypercorn calls ``restart`` when the connection becomes idle and ``stop`` when a
    request arrives. Same behaviour as its own: an idle connection is closed after
    ``keep_alive_timeout``, or at once when the server shuts down; a busy one finishes
    its request first.

    Unlike hypercorn's, ``stop`` leaves the task running, so the connection's end must
    end it: ``close`` (``ContainedTCPServer`` calls it once the connection stops
    reading). Without it, a connection that ended busy (``Connection: close``, a client
    gone before its answer, a WebSocket) kept its task, and with it the connection's
    nursery and every object of the connection, for good (issue 38 point 1: ~11 KB a
    connection), and the task's wait for an answer that never came held up shutdown.
    """

    def __init__(self, server: TCPServer) -> None:
        self.server = server
        self.scope: trio.CancelScope | None = None
        self.busy = False
        self.closed = False
        self.idle = trio.Event()

    async def restart(self, task_group: Any, action: Callable[..., Any]) -> None:
        if self.closed:
            return  # the stream's last events may come after the connection ended
        self.busy = False
        self.idle.set()
        deadline = trio.current_time() + self.server.config.keep_alive_timeout
        if self.scope is None:
            self.scope = trio.CancelScope(deadline=deadline)
            task_group.spawn(self._run, self.scope)
        else:
            self.scope.deadline = deadline

    async def stop(self) -> None:
        self.busy = True
        self.idle = trio.Event()
        if self.scope is not None:
            self.scope.deadline = math.inf

    def close(self) -> None:
        """The connection has ended: end the task without closing anything more."""
        self.closed = True
        if self.scope is not None:
            self.scope.cancel()

    async def _run(self, scope: trio.CancelScope) -> None:
        with scope:
            await self.server.context.terminated.wait()
            while self.busy:  # shutting down mid-request: close once it is answered
                await self.idle.wait()
        if self.closed:
            return
        with trio.CancelScope(shield=True):
            await self.server._initiate_server_close()


#: How long a write may still take once the gateway is stopping.
STOP_GRACE = 0.25
#: The hypercorn ``Config`` attribute that carries a server's ``WriteGuard``.
GUARD_ATTRIBUTE = "tradepit_write_guard"


class WriteGuard:
    """Deadlines for the socket writes of one server (one hypercorn ``Config``)."""

    def __init__(self, slow_seconds: float) -> None:
        self.slow_seconds = slow_seconds
        self.stopping = False
        self.aborted = 0  # connections aborted because a write stalled
        self._writes: set[trio.CancelScope] = set()

    def deadline(self, websocket: bool) -> float:
        # no clock read for an HTTP write, the common case: it has no deadline until stop
        if self.stopping:
            return trio.current_time() + STOP_GRACE
        return trio.current_time() + self.slow_seconds if websocket else math.inf

    def stop(self) -> None:
        """From now on no write waits more than ``STOP_GRACE``; synchronous on purpose."""
        self.stopping = True
        deadline = trio.current_time() + STOP_GRACE
        for scope in self._writes:
            scope.deadline = min(scope.deadline, deadline)

    async def send_all(self, stream: Any, data: bytes, websocket: bool) -> bool:
        """Write ``data``; False if the write was cut by its deadline (then abort).

        Shielded as hypercorn does (a half-written frame would corrupt the stream): the
        shield and the deadline are one scope, since a scope's own deadline still
        cancels what it shields, and a second scope per write was measurable."""
        scope = trio.CancelScope(shield=True, deadline=self.deadline(websocket))
        self._writes.add(scope)
        try:
            with scope:
                await stream.send_all(data)
        finally:
            self._writes.discard(scope)
        return not scope.cancelled_caught


def _abort(stream: Any) -> None:
    """Close the socket with a reset: the kernel drops what the client never read."""
    sock = getattr(stream, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # wakes this connection's reader with ClosedResourceError


class ContainedTCPServer(TCPServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timer = KeepAliveTimer(self)
        self.idle_task = self.timer  # type: ignore[assignment]
        self.guard: WriteGuard | None = getattr(self.config, GUARD_ATTRIBUTE, None)

    async def run(self) -> None:
        try:
            await super().run()
        except Exception as exc:  # a peer's malformed bytes: one line, rate-limited
            refused = _refusal(exc)
            if refused is not None:
                refusals.refused(refused.what, refused.reason)
            else:
                refusals.refused("a connection hypercorn could not handle", repr(exc))

    async def _read_data(self) -> None:
        # reading ends when the connection does, however it ends (the client's FIN or
        # RST, or our close, which wakes the read with ClosedResourceError): the
        # connection's nursery can then exit once its app task is done
        try:
            if self.config.read_timeout is None:
                await self._read_untimed()
            else:
                await super()._read_data()
        finally:
            self.timer.close()

    async def _read_untimed(self) -> None:
        # hypercorn's loop without its ``fail_after(inf)``: a cancel scope entered and
        # left around every read, ~20 Python calls a request for a deadline never set
        receive, handle = self.stream.receive_some, self.protocol.handle
        while True:
            try:
                data = await receive(MAX_RECV)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                break
            await handle(RawData(bytes(data)))
            if data == b"":
                break
        await handle(Closed())

    def _websocket(self) -> WSStream | None:
        protocol = getattr(self, "protocol", None)
        stream = getattr(getattr(protocol, "protocol", None), "stream", None)
        return stream if isinstance(stream, WSStream) else None

    async def protocol_send(self, event: Event) -> None:
        guard = self.guard
        if guard is None or not isinstance(event, RawData):
            await super().protocol_send(event)
            return
        lock, stream = self.send_lock, self._websocket()
        websocket = stream is not None
        if stream is not None and stream.state != ASGIWebsocketState.CONNECTED:
            # the yield ``acquire`` makes stays here: hypercorn's refusal of a malformed
            # upgrade hung without it (tests/chaos/test_malformed_upgrade.py)
            await lock.acquire()
        else:
            # an HTTP answer: the lock is free (one answer at a time on HTTP/1.1) and the
            # write yields anyway; ``acquire``'s raise in a cancelled task stays. On an
            # open WebSocket (its stream and its answers to orders share the lock) the
            # yield before the write made every frame wait a scheduler pass, and the
            # write's own yield after it keeps the sharing fair
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                lock.acquire_nowait()
            except trio.WouldBlock:
                await lock.acquire()
        try:
            done = await guard.send_all(self.stream, event.data, websocket)
            if not done:
                guard.aborted += 1
                _abort(self.stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            done = False
        finally:
            lock.release()
        if not done:
            await self.protocol.handle(Closed())


#: The ASGI extension (in the scope once accepted) and its event type.
FRAMES = "tradepit.websocket.frames"
_SHORT = [bytes((0x81, n)) for n in range(126)]
_MEDIUM = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")


def text_frames(payloads: list[bytes]) -> bytes:
    """Unmasked, unfragmented server text frames (RFC 6455 5.2), one after another."""
    parts: list[bytes] = []
    append = parts.append
    for payload in payloads:
        n = len(payload)
        if n < 126:
            append(_SHORT[n])
        elif n < 65536:
            append(_MEDIUM.pack(0x81, 126, n))
        else:
            append(_LONG.pack(0x81, 127, n))
        append(payload)
    return b"".join(parts)


#: A client's frame that ``client_messages`` reads itself: FIN, no RSV bits, text or binary.
_TEXT, _BINARY = 0x81, 0x82


def client_messages(data: bytes, limit: int) -> tuple[list[str | bytes], int]:
    """The whole messages at the start of ``data`` (a client's bytes, from a frame's
    start) that are one simple frame each: final, masked, text or binary, at most
    ``limit`` bytes, a length in its shortest form, text valid UTF-8; and how many
    bytes they took. The first frame that is anything else (a control frame, a
    fragment, an incomplete or oversized frame, one to refuse) ends them: wsproto
    reads it and all that follows, and decides."""
    messages: list[str | bytes] = []
    used, end = 0, len(data)
    while end - used >= 6:
        first, second = data[used], data[used + 1]
        if (first != _TEXT and first != _BINARY) or second < 0x80:
            break
        length, head = second & 0x7F, used + 2
        if length == 126:
            if end - used < 8:
                break
            length, head = int.from_bytes(data[head : head + 2], "big"), head + 2
            if length < 126:
                break  # wsproto refuses a length that did not need two bytes
        elif length == 127:
            break
        stop = head + 4 + length
        if stop > end or length > limit:
            break
        mask = data[head : head + 4] * (length // 4 + 1)
        payload = (
            int.from_bytes(data[head + 4 : stop], "big") ^ int.from_bytes(mask[:length], "big")
        ).to_bytes(length, "big")
        if first == _TEXT:
            try:
                messages.append(payload.decode())
            except UnicodeDecodeError:
                break
        else:
            messages.append(payload)
        used = stop
    return messages, used


#: The largest message a client may send on a WebSocket that reads none (``/ws/public``):
#: it only bounds what one costs: hypercorn's default of 16 MiB let 20 sockets take
#: 218 MB (issue 38 point 6). A larger message is closed 1009 (message too big).
CLIENT_MESSAGE_BYTES = 4096
#: The team sockets, which take order entry (``gateway.web.ws_orders``): their limit is
#: ``Config.websocket_max_message_size``, set by the gateway from ``max_body_bytes`` so
#: that a request over the body limit is answered PAYLOAD_TOO_LARGE, not closed.
TEAM_WS_PATHS = ("/ws", "/exchange/ws")


def team_message_bytes(max_body_bytes: int) -> int:
    """The team sockets' hard limit: twice a request's, so an oversized one is answered."""
    return 2 * max_body_bytes + 4096


class BoundedBuffer(WebsocketBuffer):
    """hypercorn's buffer of the message being received, emptied when it overflows.

    hypercorn sends the 1009 close on overflow but keeps the buffer, and every later
    piece of the message is still written to it before the next check: a client that
    goes on sending after the close grew it without bound."""

    def extend(self, event: Message[Any]) -> None:
        try:
            super().extend(event)
        except FrameTooLargeError:
            self.clear()
            raise


class FramingWSStream(WSStream):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer = BoundedBuffer(self.config.websocket_max_message_size)

    async def handle(self, event: StreamEvent) -> None:
        if isinstance(event, Data) and self._between_frames():
            data, put = bytes(event.data), self.app_put
            assert put is not None  # _between_frames: the app runs
            messages, used = client_messages(data, self.buffer.max_length)
            for message in messages:  # as hypercorn's buffer would make them
                text = isinstance(message, str)
                await put(
                    {
                        "type": "websocket.receive",
                        "bytes": None if text else message,
                        "text": message if text else None,
                    }
                )
            if used == len(data):
                return
            event = Data(stream_id=event.stream_id, data=data[used:])
        await super().handle(event)

    def _between_frames(self) -> bool:
        """Whether wsproto holds nothing of the client's: no part of a frame or of a
        fragmented message, and no message in hypercorn's buffer; then the next bytes
        begin a frame, and ``client_messages`` may read the simple ones itself (wsproto
        took some 30 Python calls a message)."""
        if self.closed or self.app_put is None or not self.handshake.accepted:
            return False
        connection = self.connection
        if connection.state != ConnectionState.OPEN or self.buffer.value is not None:
            return False
        protocol = connection._proto
        frames = protocol._frame_decoder
        return (
            frames.header is None
            and not frames.buffer.buffer
            and protocol._message_decoder.opcode is None
            and not protocol.extensions
        )

    async def _accept(self, message: Any) -> None:
        self.handshake.extensions = None  # offer no permessage-deflate
        if self.scope.get("path") not in TEAM_WS_PATHS:  # a socket that reads nothing
            self.buffer = BoundedBuffer(CLIENT_MESSAGE_BYTES)
        # in the scope before the app's accept returns, so the app sees it from then on
        self.scope["extensions"][FRAMES] = {}
        try:
            await super()._accept(message)
        except h11.LocalProtocolError as exc:
            # h11 dropped the upgrade (bytes came after the request) and hypercorn has
            # answered 400: nothing to switch to, and nothing a traceback would explain
            # not a WebSocket: when the app ends, hypercorn closes the stream without
            # adding a WebSocket close frame after the 400
            self.state = ASGIWebsocketState.HTTPCLOSED
            raise UpgradeRefused(str(exc)) from None
        if self.app_put is not None:
            # the client's messages go to the app without a yield each while its channel
            # has room: those of one read are then all there when the app reads, and it
            # takes them as one batch (``ws_orders``) instead of a wake-up each. Not
            # before the switch: a refused upgrade was then never answered 400
            # (tests/chaos/test_malformed_upgrade.py)
            self.app_put = put_without_yield(self.app_put)

    async def _send_error_response(self, status_code: int) -> None:
        try:
            await super()._send_error_response(status_code)
        except h11.LocalProtocolError as exc:
            # the 403 of a path with no WebSocket (or a 500), after hypercorn answered
            # the same malformed upgrade 400: one line, not two tracebacks a request
            self.state = ASGIWebsocketState.HTTPCLOSED
            refusals.refused("a WebSocket upgrade", str(exc))

    async def app_send(self, message: Any) -> None:
        if message is None or message["type"] != FRAMES:
            await super().app_send(message)
            return
        if (
            self.closed
            or self.state != ASGIWebsocketState.CONNECTED
            or self.connection.state != ConnectionState.OPEN
        ):
            return  # like a send after the close: dropped
        await self.send(Data(stream_id=self.stream_id, data=text_frames(message["texts"])))


class Refused(Exception):
    """A connection refused on purpose: one rate-limited log line, what and why."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(what, reason)
        self.what = what
        self.reason = reason


def _refusal(exc: BaseException) -> Refused | None:
    """The ``Refused`` that ``exc`` is, or carries alone in a trio exception group."""
    if isinstance(exc, Refused):
        return exc
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _refusal(exc.exceptions[0])
    return None


#: The answer to HTTP/2 with prior knowledge, and the reason logged.
HTTP2_OFF = "HTTP/2 is off on this gateway: use HTTP/1.1"


class CoalescingH11Protocol(H11Protocol):
    _held = b""
    _fast: Answer | None = None  # the answer of a request read by ``h11_fast``

    async def handle(self, event: Event) -> None:
        if (
            isinstance(event, RawData)
            and self.stream is None
            and type(self.connection) is h11.Connection
            and self.connection.their_state is h11.IDLE
            and self.connection.our_state is h11.IDLE
            and not self.connection.trailing_data[0]
        ):
            request = simple_post(event.data, PATHS, self.config.h11_max_incomplete_size)
            if request is not None:
                await self._handle_simple(request)
                return
        if isinstance(event, Closed) and self._fast is not None:
            # the connection ended before the answer did (a failed write, the client
            # gone): no StreamClosed will come, so the paused reader goes on to its end
            self._fast = None
            await self.can_read.set()
        await super().handle(event)

    async def _handle_simple(self, request: SimplePost) -> None:
        """hypercorn's ``_handle_events`` for one request h11 never sees.

        h11 stays idle on both sides: the next request goes through the same check,
        or to h11 as if it were the first."""
        self._fast = Answer()
        await self.send(Updated(idle=False))
        # looked up as hypercorn does: our subclass once installed
        stream_class = hypercorn.protocol.h11.HTTPStream  # type: ignore[attr-defined]
        self.stream = stream = stream_class(
            self.app,
            self.config,
            self.context,
            self.task_group,
            self.ssl,
            self.client,
            self.server,
            self.stream_send,
            STREAM_ID,
        )
        await stream.handle(
            Request(
                stream_id=STREAM_ID,
                headers=request.headers,
                http_version="1.1",
                method="POST",
                raw_path=request.target,
                state=self.connection_state,
            )
        )
        self.keep_alive_requests += 1
        await self.context.mark_request()
        if request.body:
            await stream.handle(Body(stream_id=STREAM_ID, data=request.body))
        await stream.handle(EndBody(stream_id=STREAM_ID))
        # as h11 pauses after a request: read nothing more until it is answered
        await self.can_read.clear()
        if self._fast is not None:
            await self.can_read.wait()

    async def stream_send(self, event: StreamEvent) -> None:
        answer = self._fast
        if answer is None:
            await super().stream_send(event)
        elif isinstance(event, Response):
            if event.status_code >= 200:  # no 1xx: nothing asks for one (no Expect)
                headers = [*event.headers, *self.config.response_headers("h11")]
                answer.close = self.keep_alive_requests >= self.config.keep_alive_max_requests
                answer.head(event.status_code, headers)
        elif isinstance(event, Body):
            await self.send(RawData(data=answer.body(event.data)))
        elif isinstance(event, EndBody):
            data = answer.end()
            if data:
                await self.send(RawData(data=data))
        elif isinstance(event, StreamClosed):
            await self._close_stream()
            self._fast = None
            await self.can_read.set()
            if answer.close or self.context.terminated.is_set():
                await self.send(Closed())
            else:
                await self.send(Updated(idle=True))

    async def _check_protocol(self, event: h11.Request) -> None:
        """HTTP/2 is off: an ``Upgrade: h2c`` is answered in HTTP/1.1, as RFC 9110 7.8
        allows, and the prior-knowledge preface is refused in ``_create_stream``.

        Over HTTP/2 one TCP connection carried 100 WebSockets, and a stream that never
        read waited on its flow-control window, not on a socket write, so the
        stuck-reader rule (``WriteGuard``) never cut it: 100 connections took every
        WebSocket slot for good (issue 38 point 4). No client of the gateway needs
        HTTP/2: bots and browsers speak HTTP/1.1 to a cleartext port (a browser never
        uses h2c), and a TLS proxy in front talks HTTP/1.1 to it."""

    async def _create_stream(self, request: h11.Request) -> None:
        if request.method == b"PRI" and request.target == b"*":
            await self._send_error_response(505)  # HTTP Version Not Supported, and close
            raise Refused("an HTTP/2 connection", HTTP2_OFF)
        await super()._create_stream(request)

    async def _send_h11_event(self, event: H11SendableEvent) -> None:
        try:
            data = self.connection.send(event)
        except h11.LocalProtocolError:
            if self.connection.their_state != h11.ERROR:
                raise
            return
        if isinstance(event, h11.Response):
            self._held += data or b""
            return
        if self._held:
            data, self._held = self._held + (data or b""), b""
        elif not data:
            # the end of a body with a Content-Length: h11 has nothing to write, and an
            # empty write costs a lock and a shielded scope. The checkpoint stays, as
            # hypercorn's own send yields: its refusal of a bad upgrade hung when a
            # write did not (tests/chaos/test_malformed_upgrade.py)
            await trio.lowlevel.checkpoint()
            return
        await self.send(RawData(data=data))


def install() -> None:
    """Make hypercorn's trio worker use these (it looks the classes up at run time)."""
    hypercorn.trio.run.TCPServer = ContainedTCPServer  # type: ignore[attr-defined]
    hypercorn.protocol.H11Protocol = CoalescingH11Protocol  # type: ignore[attr-defined]
    hypercorn.protocol.h11.WSStream = FramingWSStream  # type: ignore[attr-defined]
    hypercorn.protocol.h11.HTTPStream = CoalescingHTTPStream  # type: ignore[attr-defined]
