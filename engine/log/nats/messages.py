"""How log records travel as JetStream messages: one message per committed batch.

Theory of operation
-------------------
A NATS message per record caps catch-up near 18k records/s (measured when the design was
chosen), so the engine publishes each group-commit batch as one message: a msgpack array
of the batch's records, below the server's payload limit (a bigger batch is split into
several messages, each a contiguous run of records). Hence stream seq is *not* log seq.
Their relation is carried by every message and checked by every reader:

- header ``Tradepit-First-Seq`` = the log seq of the message's first record,
  ``Tradepit-Count`` = how many records it holds;
- the records' own seqs are exactly first, first+1, ..., first+count-1;
- message k+1 starts at the log seq after message k's last (contiguous, from log seq 1
  in stream message 1).

Anything else is a ``StreamMismatch`` naming the stream seq and both log seqs.
``Nats-Msg-Id`` is ``session:first_seq:MAC-head`` so a publish retried after a lost
ack is dropped by JetStream as a duplicate instead of stored twice.

Every message is sealed (``seal``: header ``Tradepit-Mac``); a message that is not
(``sealed_span`` is ``None``) is no part of the log: readers skip it with a warning
naming its stream seq, so the checks above apply to the sealed messages only.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import msgspec

from engine.log.errors import LogError
from engine.log.nats import seal
from engine.records import AnyRecord, Record

FIRST_SEQ = "Tradepit-First-Seq"
COUNT = "Tradepit-Count"
MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence"
#: Room left in a message for its headers (and the array header of the payload).
HEADER_ROOM = 1024
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class StreamMismatch(LogError):
    """A stream message whose records are not the log seqs they should be."""


class Fenced(LogError):
    """JetStream refused an append: another writer appended to the session's stream."""


@dataclass(frozen=True)
class Names:
    """Where a session lives on NATS: one stream, one subject for its log."""

    session: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.session):
            raise LogError(
                f"session name {self.session!r} cannot name a NATS stream: "
                "use letters, digits, '-' and '_' (at most 64)"
            )

    @property
    def stream(self) -> str:
        return f"TRADEPIT_{self.session}"

    @property
    def log_subject(self) -> str:
        return f"tradepit.{self.session}.log"

    @property
    def commands_subject(self) -> str:
        """Core NATS request-reply: gateways' commands to the engine."""
        return f"tradepit.{self.session}.commands"

    @property
    def alive_subject(self) -> str:
        """Answered by the engine serving the session: a second one refuses to start."""
        return f"tradepit.{self.session}.alive"


@dataclass(frozen=True)
class Chunk:
    first: int
    count: int
    payload: bytes

    @property
    def last(self) -> int:
        return self.first + self.count - 1

    def headers(
        self, session: str, expected_last_stream_seq: int, key: bytes | None = None
    ) -> dict[str, str]:
        """With ``key``, sealed for stream seq ``expected_last_stream_seq + 1`` (``seal``).

        The MAC's head is in ``Nats-Msg-Id`` too: no one without the key can publish a
        message first under the id of the engine's next batch and so have JetStream drop
        the engine's as a duplicate."""
        headers = {
            MSG_ID: f"{session}:{self.first}",
            EXPECTED_LAST_SEQ: str(expected_last_stream_seq),
            FIRST_SEQ: str(self.first),
            COUNT: str(self.count),
        }
        if key is not None:
            mac = seal.record_mac(
                key, session, expected_last_stream_seq + 1, self.first, self.count, self.payload
            )
            headers[seal.MAC] = mac
            headers[MSG_ID] = f"{session}:{self.first}:{mac[:16]}"
        return headers


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[AnyRecord])


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x90 | n])
    if n < 1 << 16:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def split(batch: Sequence[Record], max_payload: int) -> list[Chunk]:
    """The batch as messages of at most ``max_payload`` bytes (headers included)."""
    budget = max_payload - HEADER_ROOM - 5  # 5: the largest msgpack array header
    chunks: list[Chunk] = []
    parts: list[bytes] = []
    size = 0
    first = batch[0].seq if batch else 0
    for record in batch:
        body = _encoder.encode(record)
        if len(body) > budget:
            raise LogError(
                f"record seq {record.seq} is {len(body)} bytes, more than a NATS message "
                f"holds ({max_payload})"
            )
        if parts and size + len(body) > budget:
            chunks.append(Chunk(first, len(parts), _array_header(len(parts)) + b"".join(parts)))
            first, parts, size = record.seq, [], 0
        parts.append(body)
        size += len(body)
    if parts:
        chunks.append(Chunk(first, len(parts), _array_header(len(parts)) + b"".join(parts)))
    return chunks


def span(headers: Mapping[str, str] | None, stream_seq: int) -> tuple[int, int]:
    """(first log seq, count) that a stream message says it carries."""
    try:
        assert headers is not None
        first, count = int(headers[FIRST_SEQ]), int(headers[COUNT])
    except (AssertionError, KeyError, ValueError):
        raise StreamMismatch(
            f"stream message {stream_seq} is not a tradepit batch (no {FIRST_SEQ}/{COUNT})"
        ) from None
    if first < 1 or count < 1:
        raise StreamMismatch(f"stream message {stream_seq} claims log seqs {first}+{count}")
    return first, count


def sealed_span(
    key: bytes,
    session: str,
    stream_seq: int,
    headers: Mapping[str, str] | None,
    payload: bytes,
) -> tuple[int, int] | None:
    """(first log seq, count) of a message the session key sealed at ``stream_seq``;
    ``None`` for anything else (forged, foreign, copied from another place): readers
    skip it, naming its stream seq (``forged``), and never stop on it."""
    try:
        first, count = span(headers, stream_seq)
    except StreamMismatch:
        return None
    found = dict(headers or {})
    if not seal.record_authentic(key, session, stream_seq, found, first, count, payload):
        return None
    return first, count


def forged(stream: str, stream_seq: int) -> str:
    return (
        f"stream {stream} message {stream_seq} is not sealed with the session key "
        "(forged, or published by someone else): skipped"
    )


def decode(
    payload: bytes,
    headers: Mapping[str, str] | None,
    stream_seq: int,
    expected_first: int | None,
) -> list[AnyRecord]:
    """The records of one stream message, checked to be log seqs ``expected_first``...
    (``None``: the first message read, which may start anywhere)."""
    first, count = span(headers, stream_seq)
    return decode_span(payload, first, count, stream_seq, expected_first)


def decode_span(
    payload: bytes,
    first: int,
    count: int,
    stream_seq: int,
    expected_first: int | None,
) -> list[AnyRecord]:
    """``decode`` for a reader that already took (first, count) from the headers."""
    if expected_first is not None and first != expected_first:
        raise StreamMismatch(
            f"stream message {stream_seq} starts at log seq {first} where log seq "
            f"{expected_first} was due"
        )
    try:
        records = _decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise StreamMismatch(f"stream message {stream_seq} is undecodable: {exc}") from None
    if len(records) != count:
        raise StreamMismatch(
            f"stream message {stream_seq} holds {len(records)} records, its header says {count}"
        )
    for i, record in enumerate(records):
        if record.seq != first + i:
            raise StreamMismatch(
                f"stream message {stream_seq} holds log seq {record.seq} where log seq "
                f"{first + i} was due"
            )
    return records
