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

then frames, each::

    u32 payload length | u32 crc32(seq bytes + payload) | u64 seq | payload (msgpack record)

The seq sits in the frame so a reader can seek and skip without decoding, and the
checksum covers it. All integers are little-endian. Appends only ever add whole frames
at the end, so a crash can only leave a torn *tail*: a frame cut short, or garbage after
the last good frame with nothing valid after it. Anything else that fails a check is
corruption and is reported with its seq and byte offset.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from engine.log.errors import NotALogError

MAGIC = b"TPLOGSEG"
FORMAT_VERSION = 1
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


def segment_name(base_seq: int) -> str:
    return f"{base_seq:020d}{SEGMENT_SUFFIX}"


def encode_header(base_seq: int, session_id: str) -> bytes:
    sid = session_id.encode()
    head = _HEAD.pack(MAGIC, FORMAT_VERSION, base_seq, len(sid)) + sid
    return head + _CRC.pack(zlib.crc32(head))


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
    if version > FORMAT_VERSION:
        raise NotALogError(
            f"{path} is log format {version}; this tradepit reads up to {FORMAT_VERSION}"
        )
    return base, data[_HEAD.size : end].decode(errors="replace"), end + _CRC.size


def frame_crc(buffer: bytes | bytearray | memoryview, start: int, payload_len: int) -> int:
    """The checksum of the frame at ``start``: over its seq and payload."""
    with memoryview(buffer) as view:
        return zlib.crc32(view[start + SEQ_AND_CRC_START : start + FRAME_SIZE + payload_len])
