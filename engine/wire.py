"""The engine's command protocol: length-prefixed msgpack frames over loopback TCP.

A gateway sends ``Request(id, command)`` with an unstamped command; the engine answers
``Reply(id, seq, events)`` once the command and its events are durable in the log, or
``Refused(id, code, message)`` when it cannot take commands (storage trouble, shutdown).
Requests on one connection may be answered out of order; ``id`` pairs them.
"""

from __future__ import annotations

import struct
from pathlib import Path

import msgspec

from engine.records import AnyRecord

#: The file in a session directory where the engine writes its command address.
ADDR_FILE = "engine.addr"
MAX_FRAME = 1 << 20
_LEN = struct.Struct(">I")


class Request(msgspec.Struct, frozen=True, array_like=True, tag="req"):
    id: int
    command: AnyRecord


class Reply(msgspec.Struct, frozen=True, array_like=True, tag="rep"):
    id: int
    seq: int  # the command's seq; its events follow it
    events: list[AnyRecord]


class Refused(msgspec.Struct, frozen=True, array_like=True, tag="ref"):
    id: int
    code: str  # SERVICE_UNAVAILABLE | INTERNAL_ERROR | ...
    message: str
    retry_after: float | None = None


Message = Request | Reply | Refused

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[Message] = msgspec.msgpack.Decoder(Message)


class FrameError(ValueError):
    pass


def frame(message: Message) -> bytes:
    body = _encoder.encode(message)
    return _LEN.pack(len(body)) + body


class FrameReader:
    """Incremental decoder: feed bytes, take whole messages (sans-IO, like h11)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes | bytearray) -> list[Message]:
        self._buf += data
        out: list[Message] = []
        pos = 0
        while len(self._buf) - pos >= 4:
            (size,) = _LEN.unpack_from(self._buf, pos)
            if size > MAX_FRAME:
                raise FrameError(f"frame of {size} bytes exceeds {MAX_FRAME}")
            if len(self._buf) - pos - 4 < size:
                break
            try:
                out.append(_decoder.decode(memoryview(self._buf)[pos + 4 : pos + 4 + size]))
            except msgspec.DecodeError as exc:
                raise FrameError(f"undecodable frame: {exc}") from None
            pos += 4 + size
        del self._buf[:pos]
        return out


def read_address(data_dir: Path) -> tuple[str, int] | None:
    try:
        host, _, port = (data_dir / ADDR_FILE).read_text().strip().rpartition(":")
        return host, int(port)
    except (OSError, ValueError):
        return None
