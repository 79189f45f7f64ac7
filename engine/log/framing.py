"""The on-disk format of the log: segment files of checksummed, length-framed records.

Theory of operation
-------------------
A log is a directory of segment files named by the seq of their first record
(``00000000000000000001.seg``), plus ``LOCK`` (the single writer's flock), ``COMMITTED``
(the last durable seq, 8 bytes, published after each fsync) and one sparse index file
per segment (``.idx``: a (seq, offset) pair every ``index_every`` records; a hint that
readers check, never trust).

A segment starts with a header::

    magic "TPLOGSEG" | u16 format version | u64 base seq | u16 len | session id (utf-8)
    | u32 crc32 of everything before it

then frames. Format 2 (written now) has one frame per appended batch::

    u32 body length | u32 crc32(rest of the frame) | u64 first seq | u32 count
    | count x (u32 record length, u32 crc32(record))      the table
    | msgpack array header (0xdd, u32 count) | count msgpack records

so a reader checks one CRC and decodes a whole batch with one msgspec call, and the
table still locates a damaged record to its own seq and byte offset. Format 1 (still
read) had one frame per record::

    u32 payload length | u32 crc32(seq bytes + payload) | u64 seq | payload

The seqs sit in the frame header so a reader can seek and skip without decoding, and
the checksum covers them. All integers are little-endian except the msgpack array
header. Appends only ever add whole frames at the end, so a crash can only leave a
torn *tail*: a frame cut short, or garbage after the last good frame with nothing valid
after it. Anything else that fails a check is corruption, reported with its seq and
byte offset.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import msgspec

from engine.log.errors import NotALogError
from engine.records import Record

MAGIC = b"TPLOGSEG"
FORMAT_VERSION = 2  # 1: a frame per record; 2: a frame per batch
SEGMENT_SUFFIX = ".seg"
INDEX_SUFFIX = ".idx"
COMMITTED_FILE = "COMMITTED"
LOCK_FILE = "LOCK"

_HEAD = struct.Struct("<8sHQH")  # magic, version, base seq, session id length
_CRC = struct.Struct("<I")
FRAME = struct.Struct("<IIQ")  # payload length, crc, seq
FRAME_SIZE = FRAME.size
SEQ_AND_CRC_START = 8  # the crc covers bytes [8:] of a frame (seq + payload)
MAX_PAYLOAD = 16 * 1024 * 1024
INDEX_ENTRY = struct.Struct("<QQ")  # seq, offset
U64 = struct.Struct("<Q")
BATCH = struct.Struct("<IIQI")  # body length, crc, first seq, count
BATCH_SIZE = BATCH.size
ENTRY = struct.Struct("<II")  # record length, record crc
ARRAY_HEADER = 5  # msgpack array32: 0xdd + big-endian u32 count
MAX_BATCH_RECORDS = 4096


def segment_name(base_seq: int) -> str:
    return f"{base_seq:020d}{SEGMENT_SUFFIX}"


def encode_header(base_seq: int, session_id: str) -> bytes:
    sid = session_id.encode()
    head = _HEAD.pack(MAGIC, FORMAT_VERSION, base_seq, len(sid)) + sid
    return head + _CRC.pack(zlib.crc32(head))


def segment_version(data: bytes) -> int:
    """The format version of a segment whose header ``decode_header`` accepted."""
    return int(_HEAD.unpack_from(data)[1])


def decode_header(data: bytes, path: Path) -> tuple[int, str, int]:
    """(base seq, session id, header size) of a segment, or NotALogError naming the file."""
    if len(data) < _HEAD.size + _CRC.size or not data.startswith(MAGIC):
        raise NotALogError(f"{path} is not a tradepit log segment (bad magic)")
    _magic, version, base, sid_len = _HEAD.unpack_from(data)
    end = _HEAD.size + sid_len
    if len(data) < end + _CRC.size:
        raise NotALogError(f"{path} has a truncated segment header")
    (crc,) = _CRC.unpack_from(data, end)
    if crc != zlib.crc32(data[:end]):
        raise NotALogError(f"{path} has a corrupt segment header (checksum mismatch)")
    if version > FORMAT_VERSION or version < 1:
        raise NotALogError(
            f"{path} is log format {version}; this tradepit reads up to {FORMAT_VERSION}"
        )
    return base, data[_HEAD.size : end].decode(errors="replace"), end + _CRC.size


def frame_crc(buffer: bytes | bytearray | memoryview, start: int, payload_len: int) -> int:
    """The checksum of the frame at ``start``: over its seq and payload."""
    with memoryview(buffer) as view:
        return zlib.crc32(view[start + SEQ_AND_CRC_START : start + FRAME_SIZE + payload_len])


def encode_batch(
    encoder: msgspec.msgpack.Encoder, records: Sequence[Record], buf: bytearray
) -> None:
    """Append one format-2 frame holding ``records`` (seqs contiguous) to ``buf``."""
    count = len(records)
    start = len(buf)
    table = start + BATCH_SIZE
    buf.extend(bytes(BATCH_SIZE + ENTRY.size * count))
    buf += b"\xdd" + count.to_bytes(4, "big")
    for i, record in enumerate(records):
        at = len(buf)
        encoder.encode_into(record, buf, at)
        with memoryview(buf) as view:
            crc = zlib.crc32(view[at:])
        ENTRY.pack_into(buf, table + ENTRY.size * i, len(buf) - at, crc)
    BATCH.pack_into(buf, start, len(buf) - start - BATCH_SIZE, 0, records[0].seq, count)
    with memoryview(buf) as view:
        _CRC.pack_into(buf, start + 4, zlib.crc32(view[start + 8 :]))


def locate_damage(data: bytes | memoryview, pos: int, end: int) -> tuple[int, int, str]:
    """In a format-2 frame whose checksum failed: (seq, byte offset, why) of the damage."""
    _, _, first, count = BATCH.unpack_from(data, pos)
    table = pos + BATCH_SIZE
    at = table + ENTRY.size * count + ARRAY_HEADER
    for i in range(count):
        length, crc = ENTRY.unpack_from(data, table + ENTRY.size * i)
        if at + length > end or zlib.crc32(data[at : at + length]) != crc:
            return first + i, at, "checksum mismatch"
        at += length
    return first, pos, "checksum mismatch in the frame header or table"


def sound_record_after_damage(data: bytes, pos: int, end: int) -> bool:
    """Whether any record after the first damaged one in a frame still checks out.

    A torn write damages a suffix; a good record after a bad one means corruption.
    """
    _, _, _, count = BATCH.unpack_from(data, pos)
    table = pos + BATCH_SIZE
    at = table + ENTRY.size * count + ARRAY_HEADER
    damaged = False
    for i in range(count):
        length, crc = ENTRY.unpack_from(data, table + ENTRY.size * i)
        sound = at + length <= end and zlib.crc32(data[at : at + length]) == crc
        if damaged and sound:
            return True
        damaged = damaged or not sound
        at += length
    return False


def record_spans(data: bytes, path: Path) -> list[tuple[int, int, int]]:
    """(seq, byte offset, length) of every record of a sound segment, either format."""
    _, _, pos = decode_header(data, path)
    out = []
    if segment_version(data) == 1:
        while pos < len(data):
            length, _, seq = FRAME.unpack_from(data, pos)
            out.append((seq, pos + FRAME_SIZE, length))
            pos += FRAME_SIZE + length
        return out
    while pos < len(data):
        body, _, first, count = BATCH.unpack_from(data, pos)
        at = pos + BATCH_SIZE + ENTRY.size * count + ARRAY_HEADER
        for i in range(count):
            length, _ = ENTRY.unpack_from(data, pos + BATCH_SIZE + ENTRY.size * i)
            out.append((first + i, at, length))
            at += length
        pos += BATCH_SIZE + body
    return out
