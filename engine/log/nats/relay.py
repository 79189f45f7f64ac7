"""A remote gateway's reader of the stream, in a process of its own.

Why a process: nats-py parses every message on its asyncio thread (``bridge``), and in
the gateway's process that thread holds the GIL while the fold waits for it. A remote
gateway caught up a 1M-record session about 40% slower than a local one reading the
same records from its file log, with the second core of the machine mostly idle. In a
child process the reading runs beside the fold; the gateway reads the payloads from a
pipe as a local one reads its log, and decodes and checks them itself
(``messages.decode_span``), so nothing the child does is trusted further than the
stream's own headers.

The protocol. The child's stdin carries one line, the log seq to start from, and then
stays open: its end tells the child that its parent is gone. The child's stdout carries
frames, each ``HEADER`` then a body:

- ``M``: a stream message (stream seq, first log seq, count, payload length; the
  payload as stored);
- ``E``: an error's text; the child exits after it.

The child is spawned before the gateway connects its own client, so its start-up
(half a second of imports and a connection) overlaps the gateway's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path

import trio

from engine.log.errors import LogError
from engine.log.nats.messages import decode_span, span
from engine.records import AnyRecord

#: kind, stream seq, first log seq, count, body length
HEADER = struct.Struct(">cQQII")
MESSAGE, ERROR = b"M", b"E"
#: Messages the child takes from nats-py per write to the pipe.
TAKE = 256
#: Bytes the parent reads from the pipe at once.
READ = 1 << 20
#: The checkout this module is in: the child imports it whatever its cwd.
ROOT = str(Path(__file__).resolve().parents[3])


def message_frame(stream_seq: int, first: int, count: int, payload: bytes) -> bytes:
    return HEADER.pack(MESSAGE, stream_seq, first, count, len(payload)) + payload


def error_frame(text: str) -> bytes:
    body = text.encode("utf-8", "replace")
    return HEADER.pack(ERROR, 0, 0, 0, len(body)) + body


class Frames:
    """Frames out of a byte stream that arrives in arbitrary pieces (pure)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes | bytearray) -> list[tuple[int, int, int, bytes]]:
        """The whole message frames now readable: (stream seq, first, count, payload).

        An error frame raises ``LogError`` with the child's text."""
        buffer = self._buffer
        buffer += data
        out: list[tuple[int, int, int, bytes]] = []
        pos, size, end = 0, HEADER.size, len(buffer)
        while end - pos >= size:
            kind, stream_seq, first, count, length = HEADER.unpack_from(buffer, pos)
            stop = pos + size + length
            if stop > end:
                break
            body = bytes(buffer[pos + size : stop])
            pos = stop
            if kind == ERROR:
                raise LogError(body.decode("utf-8", "replace"))
            if kind != MESSAGE:
                raise LogError(f"the stream relay sent a frame of unknown kind {kind!r}")
            out.append((stream_seq, first, count, body))
        del buffer[:pos]
        return out


class RelayStopped(LogError):
    """The child ended without saying why (killed, out of memory): another may be started."""


class Relay:
    """The gateway's end: the child process and the records it reads."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process

    @classmethod
    async def spawn(cls, url: str, session: str) -> Relay:
        path = os.environ.get("PYTHONPATH")
        env = os.environ | {"PYTHONPATH": ROOT if not path else f"{ROOT}{os.pathsep}{path}"}
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "engine.log.nats.relay", url, session],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        return cls(process)

    async def follow(self, from_seq: int) -> AsyncGenerator[list[AnyRecord], None]:
        """Each stream message's records from log seq ``from_seq`` on, forever."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        from_seq = max(1, from_seq)
        await stdin.send_all(b"%d\n" % from_seq)
        frames = Frames()
        expected: int | None = None
        while True:
            data = await stdout.receive_some(READ)
            if not data:
                code = await self.process.wait()
                raise RelayStopped(f"the stream relay stopped (exit code {code})")
            for stream_seq, first, count, payload in frames.feed(data):
                records = decode_span(payload, first, count, stream_seq, expected)
                if expected is None and first > from_seq:
                    raise LogError(f"log seq {from_seq} is not in the stream")
                expected = first + count
                if expected <= from_seq:
                    continue
                yield records[from_seq - first :] if first < from_seq else records

    async def aclose(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with trio.CancelScope(shield=True):
            await self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    await pipe.aclose()


# ---------------------------------------------------------------------- the child


async def _relay(url: str, session: str) -> int:
    from engine.log.nats import jetstream
    from engine.log.nats.messages import Names

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout
    )
    out = asyncio.StreamWriter(transport, protocol, None, loop)
    nc = None
    try:
        nc = await jetstream.connect(url, "tradepit-relay")
        js = jetstream.JetStream(nc, Names(session))
        line = await stdin.readline()
        if not line:
            return 0  # the parent went before asking
        start, _ = await js.locate(int(line))
        sub = await js.subscribe(start)
        orphaned = asyncio.ensure_future(stdin.read())  # EOF: the parent is gone
        while not orphaned.done():
            for m in await js.take(sub, TAKE, 1.0):
                first, count = span(m.headers, m.stream_seq)
                out.write(HEADER.pack(MESSAGE, m.stream_seq, first, count, len(m.payload)))
                out.write(m.payload)
            await out.drain()
        return 0
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the parent closed its end: nobody to tell
    except Exception as exc:  # everything the parent must know, as its text
        with contextlib.suppress(OSError):
            out.write(error_frame(str(exc) or type(exc).__name__))
            await out.drain()
        return 1
    finally:
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="tradepit relay: %(message)s")
    url, session = argv
    if not any(u.strip().startswith(("ws:", "wss:")) for u in url.split(",")):
        # nats-py imports aiohttp for its WebSocket transport only: a third of this
        # process's start-up, which the gateway's catch-up waits for
        sys.modules.setdefault("aiohttp", None)  # type: ignore[arg-type]
    return asyncio.run(_relay(url, session))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
