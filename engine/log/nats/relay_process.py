"""The stream relay's own process (``python -m engine.log.nats.relay_process URL SESSION``)
and the frames it writes. ``relay`` is the gateway's end and says why it exists.

No trio and nothing of the file log is imported here: the gateway's catch-up waits for
this process's start-up, so it imports only nats-py, msgspec and the records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import sys

from engine.log.errors import LogError

#: kind, stream seq, first log seq, count, body length
HEADER = struct.Struct(">cQQII")
MESSAGE, ERROR = b"M", b"E"
#: Messages the child takes from nats-py per write to the pipe.
TAKE = 256


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


async def _relay(url: str, session: str) -> int:
    from engine.log.nats import jetstream
    from engine.log.nats.access import NatsAccess
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
        # the secrets come on stdin, never in argv (``ps``): the parent's first line
        secrets = json.loads(await stdin.readline() or b"null")
        if secrets is None:
            return 0  # the parent went before telling
        access = NatsAccess.from_json(secrets["access"])
        nc = await jetstream.connect(url, "tradepit-relay", access)
        # the key finds where to start among forged messages and checks each message
        js = jetstream.JetStream(nc, Names(session), bytes.fromhex(secrets["key"]))
        line = await stdin.readline()
        if not line:
            return 0  # the parent went before asking
        start, _ = await js.locate(int(line))
        sub = await js.subscribe(start)
        orphaned = asyncio.ensure_future(stdin.read())  # EOF: the parent is gone
        while not orphaned.done():
            for m in await js.take(sub, TAKE, 1.0):
                # the MAC is checked here, on the machine's other core, not in the fold's
                # process: 0.18 s per million records of catch-up (83 B each, measured)
                found = js.sealed(m)  # a forgery is skipped, named in a warning
                if found is not None:
                    out.write(message_frame(m.stream_seq, *found, m.payload))
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
