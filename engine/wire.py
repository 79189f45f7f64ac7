"""The engine's command protocol: length-prefixed msgpack frames over loopback TCP.

A gateway opens every connection with ``Hello(secret)``: the contents of
``DATA_DIR/engine.secret``, a file only the engine's owner can read, so only a process
of that user (a gateway, a test, a tool) can command the engine; anything else is
answered ``Refused(0, "UNAUTHORIZED", ...)`` and the connection closed before a single
command is read. Then it sends ``Request(id, command)`` with an unstamped command; the
engine answers ``Reply(id, seq, events)`` once the command and its events are durable
in the log, or ``Refused(id, code, message)`` when it cannot take commands (storage
trouble, shutdown). Requests on one connection may be answered out of order; ``id``
pairs them.
"""

from __future__ import annotations

import struct
from pathlib import Path

import msgspec

from engine.records import AnyRecord

#: The file in a session directory where the engine writes its command address.
ADDR_FILE = "engine.addr"
MAX_FRAME = 1 << 20
#: A connection's first frame is a ``Hello``; anything longer is refused unread.
MAX_HELLO_FRAME = 256
_LEN = struct.Struct(">I")


class Hello(msgspec.Struct, frozen=True, array_like=True, tag="hello"):
    secret: str


class Request(msgspec.Struct, frozen=True, array_like=True, tag="req"):
    id: int
    command: AnyRecord


class Done(msgspec.Struct, frozen=True, array_like=True, tag="done"):
    """A bot under test is done with ``tick`` (lockstep, ``engine/shell/clock.py``).

    Never sequenced: it only moves the clock. Answered ``Reply(id, tick, [])`` with the
    session's current tick in ``seq``'s place.
    """

    id: int
    team_id: str
    tick: int


class Reply(msgspec.Struct, frozen=True, array_like=True, tag="rep"):
    id: int
    seq: int  # the command's seq; its events follow it
    events: list[AnyRecord]


class Refused(msgspec.Struct, frozen=True, array_like=True, tag="ref"):
    id: int
    code: str  # SERVICE_UNAVAILABLE | INTERNAL_ERROR | ...
    message: str
    retry_after: float | None = None


WireMessage = Hello | Request | Done | Reply | Refused

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[WireMessage] = msgspec.msgpack.Decoder(WireMessage)


class FrameError(ValueError):
    pass


def pack_frame(message: WireMessage) -> bytes:
    body = _encoder.encode(message)
    return _LEN.pack(len(body)) + body


class FrameReader:
    """Incremental decoder: feed bytes, take whole messages (sans-IO, like h11)."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self.max_frame = max_frame

    def feed(self, data: bytes | bytearray, most: int | None = None) -> list[WireMessage]:
        """Whole messages decoded so far (at most ``most``; the rest stays buffered)."""
        self._buf += data
        out: list[WireMessage] = []
        pos = 0
        while len(self._buf) - pos >= 4 and (most is None or len(out) < most):
            (size,) = _LEN.unpack_from(self._buf, pos)
            if size > self.max_frame:
                raise FrameError(f"frame of {size} bytes exceeds {self.max_frame}")
            if len(self._buf) - pos - 4 < size:
                break
            try:
                out.append(_decoder.decode(memoryview(self._buf)[pos + 4 : pos + 4 + size]))
            except msgspec.DecodeError as exc:
                raise FrameError(f"undecodable frame: {exc}") from None
            pos += 4 + size
        del self._buf[:pos]
        return out


def encode(message: WireMessage) -> bytes:
    """One message without the length prefix (a NATS payload is framed already)."""
    return _encoder.encode(message)


def decode(data: bytes) -> WireMessage:
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise FrameError(f"undecodable message: {exc}") from None


def read_address(data_dir: Path) -> tuple[str, int] | None:
    try:
        host, _, port = (data_dir / ADDR_FILE).read_text().strip().rpartition(":")
        return host, int(port)
    except (OSError, ValueError):
        return None
