"""Readers of a file log, in any process, read-only: ``read`` from a seq, ``follow`` the tail.

A reader never goes past the committed seq the writer published after its fsync, so it
never shows a record that a crash could still take back. Within that bound every frame
is checked; a bad one is corruption, reported with its seq and byte offset.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import zlib
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import msgspec
import trio

from engine.log.errors import LogCorruptError, LogError, NotALogError
from engine.log.framing import (
    BATCH,
    BATCH_SIZE,
    COMMITTED_FILE,
    ENTRY,
    FORMAT_VERSION,
    FRAME,
    FRAME_SIZE,
    LOCK_FILE,
    MAX_PAYLOAD,
    SEQ_AND_CRC_START,
    U64,
    decode_header,
    locate_damage,
    segment_version,
)
from engine.log.segment import Segment, find_segment, list_segments, load_index
from engine.records import AnyRecord

CHUNK = 4 * 1024 * 1024
#: How often ``follow`` looks for newly committed records while it is caught up.
POLL_SECONDS = 0.002
#: Records a ``follow_batches`` list holds at most: above a frame's 4096 records, so a
#: catch-up over large frames takes them whole instead of decoding each one twice.
FOLLOW_BATCH = 16384


def _holds_frame(data: bytes) -> bool:
    """Whether ``data`` starts with a whole format-2 frame."""
    return len(data) >= BATCH_SIZE and BATCH_SIZE + BATCH.unpack_from(data)[0] <= len(data)


class _Cursor:
    """A position in the log: a segment file, a byte offset and the next seq there."""

    def __init__(self, reader: FileLogReader, from_seq: int) -> None:
        self.reader = reader
        self.file: BinaryIO | None = None
        self.segment: Segment | None = None
        self.offset = 0
        self.next_seq = max(from_seq, 1)
        self._decoder = msgspec.msgpack.Decoder(AnyRecord)
        self._batch_decoder = msgspec.msgpack.Decoder(list[AnyRecord])
        self._pending = b""
        self.version = FORMAT_VERSION

    def _open(self, segment: Segment, seq: int) -> None:
        if self.file is not None:
            self.file.close()
        try:
            self.file = segment.path.open("rb")
        except PermissionError:
            raise LogError(f"cannot read log segment {segment.path}: permission denied") from None
        head = self.file.read(4096)
        base, session_id, header_size = decode_header(head, segment.path)
        self.version = segment_version(head)
        if self.reader.session_id is None:
            self.reader.session_id = session_id
        elif session_id != self.reader.session_id:
            raise NotALogError(
                f"{segment.path} belongs to session {session_id!r}, not {self.reader.session_id!r}"
            )
        self.segment = segment
        self.offset = header_size
        self._pending = b""
        index = load_index(segment)
        at = bisect.bisect_right(index, (seq, 1 << 62)) - 1
        if at >= 0:
            hint_seq, hint_offset = index[at]
            self.file.seek(hint_offset)
            probe = self.file.read(FRAME_SIZE)
            # trust the hint only if a frame with that seq really starts there
            if len(probe) == FRAME_SIZE and FRAME.unpack(probe)[2] == hint_seq:
                self.offset = hint_offset
        self.file.seek(self.offset)
        if base > seq:
            raise LogError(f"seq {seq} is before the first record of {segment.path}")

    def take(self, upto: int, limit: int = 1 << 62) -> list[AnyRecord]:
        """Records from ``next_seq`` up to seq ``upto`` (at most ``limit``), crossing segments."""
        out: list[AnyRecord] = []
        while self.next_seq <= upto and len(out) < limit:
            if self.file is None:
                segment = self.reader.segment_for(self.next_seq)
                if segment is None:
                    raise LogError(
                        f"seq {self.next_seq} is not in the log at {self.reader.directory}"
                    )
                self._open(segment, self.next_seq)
            if self._read_some(out, upto, limit):
                continue
            # this file has nothing more: go on if the next segment starts where it ended
            following = self.reader.segment_for(self.next_seq)
            if (
                following is None
                or following == self.segment
                or following.base_seq != self.next_seq
            ):
                break
            self._open(following, self.next_seq)
        return out

    def _read_some(self, out: list[AnyRecord], upto: int, limit: int) -> bool:
        """Parse frames from the current file into ``out``; False if nothing new was there."""
        if self.version >= 2:
            return self._read_batches(out, upto, limit)
        return self._read_frames(out, upto, limit)

    def _consumed(self, data: bytes, pos: int, within_head: bool) -> None:
        """``data`` was parsed up to ``pos``: keep the rest for the next read only while
        it is within the committed head. Past it the bytes may be a torn write (a full
        disk) that the writer cuts back and writes again: kept, they would join the new
        frame's tail."""
        assert self.file is not None
        self.offset += pos
        self._pending = data[pos:] if within_head else b""
        self.file.seek(self.offset + len(self._pending))

    def _read_batches(self, out: list[AnyRecord], upto: int, limit: int) -> bool:
        """Format 2: one checksum and one decode per frame (a whole appended batch)."""
        assert self.file is not None
        assert self.segment is not None
        data = self._pending
        if not _holds_frame(data):
            # only then: a take with a limit leaves the rest of its chunk pending, and
            # reading another chunk on every call grew it to the whole segment, copied
            # again each call (quadratic in a catch-up of large frames)
            data += self.file.read(CHUNK)
        if not data:
            return False
        path = self.segment.path
        pos, size = 0, len(data)
        view = memoryview(data)
        seq = self.next_seq
        while size - pos >= BATCH_SIZE and seq <= upto and len(out) < limit:
            body, crc, first, count = BATCH.unpack_from(data, pos)
            end = pos + BATCH_SIZE + body
            if end > size:
                if body > MAX_PAYLOAD * 4:
                    raise LogCorruptError(path, self.offset + pos, seq, "impossible frame length")
                break  # the rest of this frame is in the next chunk
            last = first + count - 1
            if last < seq:  # before the requested start: skip without decoding
                pos = end
                continue
            if first > seq or count < 1:
                raise LogCorruptError(path, self.offset + pos, seq, f"seq {first}, not {seq}")
            if zlib.crc32(view[pos + 8 : end]) != crc:
                bad, at, why = locate_damage(view, pos, end)
                raise LogCorruptError(path, self.offset + at, bad, why)
            try:
                records = self._batch_decoder.decode(
                    view[pos + BATCH_SIZE + ENTRY.size * count : end]
                )
            except msgspec.DecodeError as exc:
                raise LogCorruptError(
                    path, self.offset + pos, first, f"undecodable: {exc}"
                ) from None
            if len(records) != count:
                raise LogCorruptError(path, self.offset + pos, first, "record count mismatch")
            stop = min(upto, seq + limit - len(out) - 1)  # the last seq this call may take
            if last > stop:  # take part; the frame is read again for the rest
                out.extend(records[seq - first : stop - first + 1])
                seq = stop + 1
                break
            out.extend(records[seq - first :] if seq > first else records)
            seq = last + 1
            pos = end
        view.release()
        self._consumed(data, pos, seq <= upto)
        # frames skipped before the start count: the next call reads on from them
        progressed = seq != self.next_seq or pos > 0
        self.next_seq = seq
        return progressed

    def _read_frames(self, out: list[AnyRecord], upto: int, limit: int) -> bool:
        """Format 1: a frame per record."""
        assert self.file is not None
        assert self.segment is not None
        data = self._pending + self.file.read(CHUNK)
        if not data:
            return False
        pos, size, unpack = 0, len(data), FRAME.unpack_from
        decode = self._decoder.decode
        crc32 = zlib.crc32
        append = out.append
        view = memoryview(data)
        seq = self.next_seq
        room = limit - len(out)
        start = seq
        while size - pos >= FRAME_SIZE and seq <= upto and seq - start < room:
            length, crc, frame_seq = unpack(data, pos)
            end = pos + FRAME_SIZE + length
            if end > size:
                if length > MAX_PAYLOAD:
                    raise LogCorruptError(
                        self.segment.path, self.offset + pos, seq, "impossible frame length"
                    )
                break  # the rest of this frame is in the next chunk
            if frame_seq < seq:  # before the requested start: skip without decoding
                pos = end
                continue
            if frame_seq != seq or crc32(view[pos + SEQ_AND_CRC_START : end]) != crc:
                why = (
                    "checksum mismatch"
                    if frame_seq == seq
                    else f"seq {frame_seq} where {seq} was due"
                )
                raise LogCorruptError(self.segment.path, self.offset + pos, seq, why)
            try:
                append(decode(view[pos + FRAME_SIZE : end]))
            except msgspec.DecodeError as exc:
                raise LogCorruptError(
                    self.segment.path, self.offset + pos, seq, f"undecodable: {exc}"
                ) from None
            seq += 1
            pos = end
        progressed = seq != self.next_seq
        view.release()
        self._consumed(data, pos, seq <= upto)
        self.next_seq = seq
        return progressed

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class FileLogReader:
    """Read-only access to a log directory, safe beside a live writer in another process."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.session_id: str | None = None
        self._segments = list_segments(self.directory)
        if not self._segments and not (self.directory / LOCK_FILE).exists():
            raise NotALogError(f"{self.directory} is not a tradepit log (no segment files)")
        self._committed_fd: int | None = None
        self._nudged: trio.Event | None = None
        for segment in self._segments[:1] + self._segments[-1:]:
            self._check_header(segment)

    def _check_header(self, segment: Segment) -> None:
        """Refuse a directory whose segments are not ours, before anything is read."""
        try:
            with segment.path.open("rb") as f:
                head = f.read(4096)
        except PermissionError:
            raise LogError(f"cannot read log segment {segment.path}: permission denied") from None
        except IsADirectoryError:
            raise NotALogError(f"{segment.path} is a directory, not a log segment") from None
        _, session_id, _ = decode_header(head, segment.path)
        if self.session_id is None:
            self.session_id = session_id

    @property
    def head_seq(self) -> int:
        """The last durable seq, as published by the writer (0 for an empty log)."""
        if self._committed_fd is None:
            try:
                self._committed_fd = os.open(self.directory / COMMITTED_FILE, os.O_RDONLY)
            except FileNotFoundError:
                return 0
            except PermissionError:
                raise LogError(
                    f"cannot read {self.directory / COMMITTED_FILE}: permission denied"
                ) from None
        raw = os.pread(self._committed_fd, 8, 0)
        return U64.unpack(raw)[0] if len(raw) == 8 else 0

    def segment_for(self, seq: int) -> Segment | None:
        """The segment holding ``seq``; re-lists the directory when the log has grown."""
        if not self._segments or self._segments[-1].base_seq <= seq:
            self._segments = list_segments(self.directory)
        if not self._segments:
            return None
        return self._segments[find_segment(self._segments, seq)]

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[AnyRecord]:
        """Records from ``from_seq`` to ``to_seq`` (default: the committed head now)."""
        head = self.head_seq if to_seq is None else min(to_seq, self.head_seq)
        if from_seq > head:
            return
        cursor = _Cursor(self, from_seq)
        try:
            while cursor.next_seq <= head:
                batch = cursor.take(head, 65536)
                if not batch:
                    raise LogError(
                        f"the log at {self.directory} ends at seq {cursor.next_seq - 1}, "
                        f"before its committed seq {head}"
                    )
                yield from batch
        finally:
            cursor.close()

    async def follow(
        self, from_seq: int = 1, poll: float = POLL_SECONDS
    ) -> AsyncGenerator[AnyRecord, None]:
        """Every record from ``from_seq`` on, then each one as the writer commits it: the
        committed seq is polled every ``poll`` seconds, or at once after ``nudge``."""
        async with contextlib.aclosing(self.follow_batches(from_seq, poll)) as batches:
            async for batch in batches:
                for record in batch:
                    yield record

    async def follow_batches(
        self, from_seq: int = 1, poll: float = POLL_SECONDS, limit: int = FOLLOW_BATCH
    ) -> AsyncGenerator[list[AnyRecord], None]:
        """As ``follow``, in lists of up to ``limit`` records: what was committed and read
        in one go, so a caller far behind handles many records per step. Each list is
        followed by a checkpoint."""
        cursor = _Cursor(self, from_seq)
        try:
            while True:
                head = self.head_seq
                if cursor.next_seq <= head:
                    batch = cursor.take(head, limit)
                    if batch:
                        yield batch
                        await trio.lowlevel.checkpoint()
                        continue
                self._nudged = nudged = trio.Event()
                with trio.move_on_after(poll):
                    await nudged.wait()
                self._nudged = None
        finally:
            cursor.close()

    def nudge(self) -> None:
        """Look for new records now, not at the next poll: the caller knows the writer
        committed some (the engine answers a command only once its records are durable)."""
        if self._nudged is not None:
            self._nudged.set()

    def close(self) -> None:
        if self._committed_fd is not None:
            os.close(self._committed_fd)
            self._committed_fd = None

    def __enter__(self) -> FileLogReader:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
