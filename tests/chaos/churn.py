"""Many short connections to a real gateway, of the kinds that once stayed in it for good.

Raw sockets in trio, ``concurrency`` at a time, so 20,000 of a kind take seconds. Each
kind ends its connection the way a careless client does (issue 38 point 1):

* ``close``: an HTTP/1.1 request with ``Connection: close``, read to the end (what
  ``urllib.request.urlopen`` or ``requests.post`` without a session do);
* ``abort``: an order's head and part of its body, then EOF (a client that gave up);
* ``websocket``: an upgrade to ``/ws/public``, the 101 read, then a close frame;
* ``h2c``: HTTP/2 with prior knowledge (the preface and a SETTINGS frame), then EOF.

Connections come from a spread of loopback source addresses: the client closes first
in most kinds, and tens of thousands of TIME_WAIT ports on one address would run out.
"""

from __future__ import annotations

import struct

import trio

KINDS = ("close", "abort", "websocket", "h2c")
#: Source addresses 127.0.1.1 .. 127.0.1.SOURCES, each with its own ephemeral ports.
SOURCES = 16

CLOSE = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
#: An order whose body never all comes: the gateway is mid-request when the client goes.
ABORT = (
    b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b'Content-Length: 100\r\n\r\n{"instrument_id": '
)
UPGRADE = (
    b"GET /ws/public HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
#: A masked close frame (code 1000) from the client, RFC 6455 5.5.1.
WS_CLOSE = bytes((0x88, 0x82, 0, 0, 0, 0)) + struct.pack("!H", 1000)
#: The client preface of RFC 9113 3.4 and an empty SETTINGS frame.
H2C = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes((0, 0, 0, 4, 0, 0, 0, 0, 0))


async def _connect(port: int, n: int) -> trio.SocketStream:
    sock = trio.socket.socket()
    await sock.bind((f"127.0.1.{n % SOURCES + 1}", 0))
    try:
        await sock.connect(("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return trio.SocketStream(sock)


async def _to_end(stream: trio.SocketStream) -> bytes:
    """Everything the server sends until it closes (or resets) the connection."""
    data = b""
    try:
        while chunk := await stream.receive_some(65536):
            data += chunk
    except trio.BrokenResourceError:
        pass
    return data


async def _until(stream: trio.SocketStream, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            break
        data += chunk
    return data


#: A connection's bound: one the gateway never ends (h2c did, before issue 38) fails
#: the run instead of hanging it.
STUCK_SECONDS = 30.0


async def one(kind: str, port: int, n: int) -> None:
    with trio.fail_after(STUCK_SECONDS):
        await _one(kind, port, n)


async def _one(kind: str, port: int, n: int) -> None:
    stream = await _connect(port, n)
    async with stream:
        if kind == "close":
            await stream.send_all(CLOSE)
            answer = await _to_end(stream)
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:80]
        elif kind == "abort":
            await stream.send_all(ABORT)  # and close (FIN): after the request, in order
        elif kind == "websocket":
            await stream.send_all(UPGRADE)
            head = await _until(stream, b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101 "), head[:80]
            await stream.send_all(WS_CLOSE)
        elif kind == "h2c":
            await stream.send_all(H2C)
            await stream.send_eof()
            await _to_end(stream)
        else:
            raise ValueError(kind)


async def churn(port: int, kind: str, count: int, concurrency: int = 64) -> None:
    """``count`` connections of ``kind``, ``concurrency`` open at a time."""
    numbers = iter(range(count))

    async def worker() -> None:
        for n in numbers:  # shared: each number is taken by one worker
            await one(kind, port, n)

    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)
