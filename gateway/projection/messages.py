"""Stream messages and their JSON: ``{seq, type, timestamp, data}``.

A record's messages are encoded once: the ``"type":...,"timestamp":...,"data":{...}}``
part (the *body*) is shared by every recipient, and each team's frame is its own
``{"seq":N,`` prefix spliced in front of it. So a broadcast to a thousand teams costs
one JSON encode and a thousand small concatenations.
"""

from __future__ import annotations

import datetime
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_UTC = datetime.UTC


_last_second: list[tuple[int, str]] = [(-1, "")]
_last_ts: list[tuple[int, str]] = [(-1, "")]


def iso_timestamp(ts_ns: int) -> str:
    """Integer nanoseconds since the epoch as ISO-8601 UTC with microseconds."""
    cached_ts, stamp = _last_ts[0]
    if cached_ts == ts_ns:  # a command and all its events carry the same ts
        return stamp
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    cached, text = _last_second[0]
    if cached != seconds:  # formatting the date is most of the cost: once per second
        moment = datetime.datetime.fromtimestamp(seconds, _UTC)
        text = f"{moment:%Y-%m-%dT%H:%M:%S}"
        _last_second[0] = (seconds, text)
    stamp = f"{text}.{ns // 1000:06d}Z"
    _last_ts[0] = (ts_ns, stamp)
    return stamp


class StreamMessage:
    """One stream message without its seq; ``body`` is its JSON after the seq field."""

    __slots__ = ("_body", "data", "timestamp", "type")

    def __init__(self, type: str, timestamp: str, data: dict[str, Any]) -> None:
        self.type = type
        self.timestamp = timestamp
        self.data = data
        self._body: bytes | None = None

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = encode_body(self.type, self.timestamp, self.data)
        return self._body

    def __repr__(self) -> str:
        return f"Message({self.type!r}, {self.timestamp!r}, {self.data!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StreamMessage) and self.body == other.body

    def __hash__(self) -> int:
        return hash(self.body)


def encode_body(type: str, timestamp: str, data: Any) -> bytes:
    return b"".join(
        (
            b'"type":',
            _encoder.encode(type),
            b',"timestamp":',
            _encoder.encode(timestamp),
            b',"data":',
            _encoder.encode(data),
            b"}",
        )
    )


def stream_frame(seq: int, body: bytes) -> bytes:
    """The complete JSON message of one recipient."""
    return b'{"seq":%d,%s' % (seq, body)


def encode(value: Any) -> bytes:
    """JSON with the module's one reusable encoder (REST bodies use it too)."""
    return _encoder.encode(value)
