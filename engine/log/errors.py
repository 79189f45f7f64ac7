"""Errors of the log. Each message names the file (and seq and byte offset where known)."""

from __future__ import annotations

from pathlib import Path


class LogError(Exception):
    """The log cannot be used as asked."""


class NotALogError(LogError):
    """The directory (or a file in it) is not a tradepit log."""


class LogLockedError(LogError):
    """Another writer holds the log."""


class LogCorruptError(LogError):
    """A record before the tail fails its checksum or framing: never skipped silently."""

    def __init__(self, path: Path, offset: int, seq: int | None, why: str) -> None:
        where = f"seq {seq}" if seq is not None else "an unknown seq"
        super().__init__(f"corrupt record at {where}, byte offset {offset} of {path}: {why}")
        self.path = path
        self.offset = offset
        self.seq = seq


class SequenceError(LogError):
    """An append whose seqs do not continue the log contiguously."""
