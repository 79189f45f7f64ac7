"""The single writer of a file log: recover on open, group-commit appends, roll segments."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import msgspec

from engine.config import LogConfig
from engine.log.errors import LogError, LogLockedError, SequenceError
from engine.log.framing import (
    BATCH,
    BATCH_SIZE,
    COMMITTED_FILE,
    FORMAT_VERSION,
    INDEX_ENTRY,
    LOCK_FILE,
    MAX_BATCH_RECORDS,
    U64,
    encode_batch,
    encode_header,
    segment_name,
    sound_record_after_damage,
)
from engine.log.segment import (
    Scan,
    Segment,
    corrupt,
    list_segments,
    read_bytes,
    scan,
    valid_frame_after,
)
from engine.records import Record

log = logging.getLogger("tradepit.log")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileLogWriter:
    """Appends batches of records; at most one per directory (flock on ``LOCK``)."""

    def __init__(self, directory: Path, config: LogConfig, session_id: str = "") -> None:
        self.directory = Path(directory)
        self.config = config
        self.session_id = session_id
        self.head_seq = 0
        self._fd: int | None = None
        self._index_fd: int | None = None
        self._segment: Segment | None = None
        self._segment_size = 0
        self._broken: str | None = None
        self._encoder = msgspec.msgpack.Encoder()
        self._buffer = bytearray()
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise LogError(
                f"cannot create the log directory {self.directory}: {exc.strerror}"
            ) from None
        self._lock_fd = self._lock()
        try:
            self._committed_fd = os.open(
                self.directory / COMMITTED_FILE, os.O_RDWR | os.O_CREAT, 0o600
            )
            self._recover()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ open

    def _lock(self) -> int:
        path = self.directory / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LogError(f"cannot open the lock file {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LogLockedError(
                f"log at {self.directory} is in use by another writer (pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _recover(self) -> None:
        segments = list_segments(self.directory)
        last_seq = 0
        for i, segment in enumerate(segments):
            data = read_bytes(segment.path)
            result = scan(data, segment, self.config.index_every)
            if i == 0 and not self.session_id:
                self.session_id = result.session_id
            if segment.base_seq != last_seq + 1:
                raise LogError(
                    f"{segment.path} starts at seq {segment.base_seq} but the log before it ends "
                    f"at seq {last_seq}: a segment is missing"
                )
            is_last = i == len(segments) - 1
            if result.bad_offset is not None:
                later = valid_frame_after(data, result.bad_offset, result.last_seq, result.version)
                if (
                    not is_last
                    or later is not None
                    or _damaged_inside(data, result.bad_offset, result)
                ):
                    raise corrupt(segment, result, data)
                log.warning(
                    "log %s: truncating a torn tail at byte offset %d (%s); %d bytes dropped, "
                    "the log ends at seq %d",
                    segment.path,
                    result.bad_offset,
                    result.bad_reason,
                    len(data) - result.good_end,
                    result.last_seq,
                )
                self._truncate(segment.path, result.good_end)
            last_seq = result.last_seq
            if is_last and result.version == FORMAT_VERSION:
                self._open_segment(segment, result.good_end, result.index)
            # an older format's segment is never appended to: the next append starts one
        self.head_seq = last_seq
        self._publish()

    def _truncate(self, path: Path, size: int) -> None:
        fd = os.open(path, os.O_RDWR)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _open_segment(self, segment: Segment, size: int, index: list[tuple[int, int]]) -> None:
        self._close_files()
        self._fd = os.open(segment.path, os.O_WRONLY | os.O_APPEND)
        self._segment = segment
        self._segment_size = size
        # the index is a hint: rewrite it from what the scan verified
        self._index_fd = os.open(segment.index_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(self._index_fd, b"".join(INDEX_ENTRY.pack(s, o) for s, o in index))

    def _new_segment(self, base_seq: int) -> None:
        """Create a segment atomically: temp file, fsync, rename, fsync the directory."""
        segment = Segment(self.directory / segment_name(base_seq), base_seq)
        header = encode_header(base_seq, self.session_id)
        tmp = segment.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, header)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, segment.path)
        fsync_dir(self.directory)
        self._open_segment(segment, len(header), [])

    # ------------------------------------------------------------------ append

    def append(self, batch: Sequence[Record]) -> None:
        """Append records durably (per ``fsync``); they must continue the log's seqs."""
        if self._broken is not None:
            raise LogError(self._broken)
        if not batch:
            return
        if self._fd is None or self._segment_size >= self.config.segment_bytes:
            self._new_segment(batch[0].seq)
        assert self._fd is not None
        assert self._segment is not None
        buf = self._buffer
        del buf[:]
        expected = self.head_seq + 1
        for record in batch:
            if record.seq != expected:
                raise SequenceError(f"append of seq {record.seq} where {expected} was due")
            expected += 1
        base = self._segment.base_seq
        every = self.config.index_every
        index: list[bytes] = []
        starts: list[int] = []
        # one frame per batch (a frame per record when every record is fsynced alone)
        size = 1 if self.config.fsync == "always" else MAX_BATCH_RECORDS
        for i in range(0, len(batch), size):
            part = batch[i : i + size]
            first, last = part[0].seq, part[-1].seq
            start = len(buf)
            encode_batch(self._encoder, part, buf)
            if (first - base) % every == 0 or (first - base) // every != (last - base) // every:
                index.append(INDEX_ENTRY.pack(first, self._segment_size + start))
            starts.append(start)
        try:
            if self.config.fsync == "always":
                ends = [*starts[1:], len(buf)]
                for start, end in zip(starts, ends, strict=True):
                    _write_all(self._fd, buf[start:end])
                    os.fsync(self._fd)
            else:
                _write_all(self._fd, buf)
                if self.config.fsync == "batch":
                    os.fsync(self._fd)
        except OSError:
            self._undo()
            raise
        self._segment_size += len(buf)
        self.head_seq = expected - 1
        if index and self._index_fd is not None:
            with contextlib.suppress(OSError):  # a hint; readers fall back to scanning
                os.write(self._index_fd, b"".join(index))
        self._publish()

    def _undo(self) -> None:
        """A failed write may have left part of the batch: cut the segment back."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._segment_size)
        except OSError as exc:
            self._broken = (
                f"the log at {self.directory} could not be repaired after a failed write "
                f"({exc.strerror}); reopen it"
            )

    def _publish(self) -> None:
        """Tell readers how far the log is durable (after the fsync, never before)."""
        os.pwrite(self._committed_fd, U64.pack(self.head_seq), 0)

    # ------------------------------------------------------------------ close

    def _close_files(self) -> None:
        for name in ("_fd", "_index_fd"):
            fd = getattr(self, name)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, None)

    def close(self) -> None:
        if self._fd is not None and self.config.fsync != "off":
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
        self._close_files()
        for name in ("_committed_fd", "_lock_fd"):
            fd = getattr(self, name, None)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, None)

    def __enter__(self) -> FileLogWriter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _damaged_inside(data: bytes, offset: int, result: Scan) -> bool:
    """A whole frame whose table shows a good record after a bad one: corruption, not a tear."""
    if result.bad_seq is None:
        return False
    end = offset + BATCH_SIZE + BATCH.unpack_from(data, offset)[0]
    return end <= len(data) and sound_record_after_damage(data, offset, end)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written == 0:
            raise OSError(errno.EIO, "write returned 0")
        view = view[written:]
