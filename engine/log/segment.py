"""Finding, scanning and verifying segment files (shared by the writer and readers)."""

from __future__ import annotations

import bisect
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from engine.log.errors import LogCorruptError, LogError, NotALogError
from engine.log.framing import (
    BATCH,
    BATCH_SIZE,
    FRAME,
    FRAME_SIZE,
    INDEX_ENTRY,
    INDEX_SUFFIX,
    MAX_BATCH_RECORDS,
    MAX_PAYLOAD,
    SEGMENT_SUFFIX,
    decode_header,
    frame_crc,
    locate_damage,
    segment_version,
)


@dataclass(frozen=True, slots=True)
class Segment:
    path: Path
    base_seq: int

    @property
    def index_path(self) -> Path:
        return self.path.with_suffix(INDEX_SUFFIX)


def list_segments(directory: Path) -> list[Segment]:
    """The segments of a log in seq order; a misnamed ``.seg`` file is an error naming it."""
    segments = []
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        raise LogError(f"no log at {directory}: the directory does not exist") from None
    except NotADirectoryError:
        raise NotALogError(f"{directory} is not a log directory (it is a file)") from None
    except PermissionError:
        raise LogError(f"cannot read the log directory {directory}: permission denied") from None
    for name in names:
        if not name.endswith(SEGMENT_SUFFIX):
            continue
        stem = name[: -len(SEGMENT_SUFFIX)]
        if not stem.isdigit():
            raise NotALogError(f"{directory / name} is not a tradepit log segment (bad name)")
        segments.append(Segment(directory / name, int(stem)))
    return segments


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError:
        raise LogError(f"cannot read log segment {path}: permission denied") from None
    except IsADirectoryError:
        raise NotALogError(f"{path} is a directory, not a log segment") from None


@dataclass(slots=True)
class Scan:
    """What a full verification of one segment found."""

    header_size: int
    session_id: str
    good_end: int  # offset just past the last good frame
    last_seq: int  # seq of the last good frame (base - 1 if none)
    count: int = 0
    bad_offset: int | None = None
    bad_reason: str = ""
    bad_seq: int | None = None  # where the damage is, when a checksum table locates it
    index: list[tuple[int, int]] = field(default_factory=list)
    version: int = 1


def scan(data: bytes, segment: Segment, index_every: int) -> Scan:
    """Verify every frame of a segment; stop at the first bad one."""
    base, session_id, header_size = decode_header(data, segment.path)
    if base != segment.base_seq:
        raise NotALogError(
            f"{segment.path} says it starts at seq {base}, its name says {segment.base_seq}"
        )
    result = Scan(header_size, session_id, header_size, base - 1, version=segment_version(data))
    if result.version == 1:
        _scan_v1(data, base, index_every, result)
    else:
        _scan_v2(data, base, index_every, result)
    result.good_end = result.bad_offset if result.bad_offset is not None else result.good_end
    return result


def _scan_v1(data: bytes, base: int, index_every: int, result: Scan) -> None:
    pos, expected, size = result.header_size, base, len(data)
    unpack = FRAME.unpack_from
    while pos < size:
        if size - pos < FRAME_SIZE:
            result.bad_offset, result.bad_reason = pos, "frame header cut short"
            break
        length, crc, seq = unpack(data, pos)
        if length > MAX_PAYLOAD or pos + FRAME_SIZE + length > size:
            result.bad_offset, result.bad_reason = pos, "frame runs past the end of the file"
            break
        if frame_crc(data, pos, length) != crc:
            result.bad_offset, result.bad_reason = pos, "checksum mismatch"
            break
        if seq != expected:
            result.bad_offset, result.bad_reason = pos, f"seq {seq} where {expected} was due"
            break
        if (seq - base) % index_every == 0:
            result.index.append((seq, pos))
        pos += FRAME_SIZE + length
        expected += 1
        result.count += 1
    result.good_end = pos
    result.last_seq = expected - 1


def _scan_v2(data: bytes, base: int, index_every: int, result: Scan) -> None:
    pos, expected, size = result.header_size, base, len(data)
    while pos < size:
        if size - pos < BATCH_SIZE:
            result.bad_offset, result.bad_reason = pos, "frame header cut short"
            break
        body, crc, first, count = BATCH.unpack_from(data, pos)
        end = pos + BATCH_SIZE + body
        if body > MAX_PAYLOAD * 4 or end > size or count < 1 or count > MAX_BATCH_RECORDS:
            result.bad_offset, result.bad_reason = pos, "frame runs past the end of the file"
            break
        if zlib.crc32(memoryview(data)[pos + 8 : end]) != crc:
            seq, _, why = locate_damage(data, pos, end)
            result.bad_offset, result.bad_reason, result.bad_seq = pos, why, seq
            break
        if first != expected:
            result.bad_offset, result.bad_reason = pos, f"seq {first} where {expected} was due"
            break
        last = first + count - 1
        if (first - base) % index_every == 0 or (first - base) // index_every != (
            last - base
        ) // index_every:
            result.index.append((first, pos))
        pos = end
        expected += count
        result.count += count
    result.good_end = pos
    result.last_seq = expected - 1


def valid_frame_after(data: bytes, offset: int, after_seq: int, version: int = 1) -> int | None:
    """The offset of any checksummed frame with a later seq past ``offset``, if one exists.

    Used to tell a torn tail (nothing valid follows) from corruption in the middle.
    """
    size = len(data)
    if version >= 2:
        for pos in range(offset + 1, size - BATCH_SIZE + 1):
            body, crc, first, count = BATCH.unpack_from(data, pos)
            end = pos + BATCH_SIZE + body
            if first <= after_seq or not 0 < count <= MAX_BATCH_RECORDS or end > size:
                continue
            if zlib.crc32(memoryview(data)[pos + 8 : end]) == crc:
                return pos
        return None
    unpack = FRAME.unpack_from
    for pos in range(offset + 1, size - FRAME_SIZE + 1):
        length, crc, seq = unpack(data, pos)
        if seq <= after_seq or length > MAX_PAYLOAD or pos + FRAME_SIZE + length > size:
            continue
        if frame_crc(data, pos, length) == crc:
            return pos
    return None


def corrupt(segment: Segment, result: Scan, data: bytes | None = None) -> LogCorruptError:
    assert result.bad_offset is not None
    seq = result.bad_seq if result.bad_seq is not None else result.last_seq + 1
    offset = result.bad_offset
    if data is not None and result.bad_seq is not None:
        body = BATCH.unpack_from(data, result.bad_offset)[0]
        _, offset, _ = locate_damage(data, result.bad_offset, result.bad_offset + BATCH_SIZE + body)
    return LogCorruptError(segment.path, offset, seq, result.bad_reason)


def load_index(segment: Segment) -> list[tuple[int, int]]:
    """The sparse index of a segment: a hint, so any problem reading it means no index."""
    try:
        raw = segment.index_path.read_bytes()
    except OSError:
        return []
    usable = len(raw) - len(raw) % INDEX_ENTRY.size
    return [INDEX_ENTRY.unpack_from(raw, i) for i in range(0, usable, INDEX_ENTRY.size)]


def find_segment(segments: list[Segment], seq: int) -> int:
    """The position in ``segments`` of the segment holding ``seq`` (by base seq)."""
    bases = [s.base_seq for s in segments]
    return max(bisect.bisect_right(bases, seq) - 1, 0)
