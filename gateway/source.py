"""Where the gateway's records come from: the engine's log, or a list in memory.

``follow(from_seq)`` yields every record from ``from_seq`` on, in seq order, and then
waits for more, forever. ``head()`` is the log's last seq (for the lag metric).
``read(from_seq, to_seq)`` is a range read that blocks: the history archive
(``gateway/archive.py``) calls it in a worker thread, so it must not touch trio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Protocol

import trio

from engine.records import AnyRecord


class RecordSource(Protocol):
    def follow(self, from_seq: int) -> AsyncIterator[AnyRecord]: ...

    def head(self) -> int: ...

    def nudge(self) -> None:
        """New records were committed: look now rather than at the next poll."""

    def read(self, from_seq: int, to_seq: int) -> Iterator[AnyRecord]:
        """Records ``from_seq .. to_seq`` (committed ones), blocking: from a worker thread."""
        ...


def read_log(log_dir: Path, from_seq: int, to_seq: int) -> Iterator[AnyRecord]:
    """``RecordSource.read`` for a log directory: a reader of its own, since a
    follower's belongs to the trio thread."""
    from engine import log as logmod  # imported late: the gateway runs without it in tests

    with logmod.open_reader(log_dir) as reader:
        yield from reader.read(max(1, from_seq), to_seq)


class MemoryLog:
    """An in-memory log: tests and embedded use. Records must arrive in seq order."""

    def __init__(self, records: Iterable[AnyRecord] = ()) -> None:
        self.records: list[AnyRecord] = []
        self._grew = trio.Event()
        self.append(list(records))

    def append(self, records: list[AnyRecord]) -> None:
        for record in records:
            expected = len(self.records) + 1
            if record.seq != expected:
                raise ValueError(f"record seq {record.seq}, expected {expected}")
            self.records.append(record)
        self._grew.set()
        self._grew = trio.Event()

    def head(self) -> int:
        return len(self.records)

    def nudge(self) -> None:
        pass  # ``follow`` wakes on every append already

    def read(self, from_seq: int, to_seq: int) -> Iterator[AnyRecord]:
        # indexing a list that trio appends to meanwhile is safe under the GIL, and
        # only records already appended (seq <= to_seq <= head) are read
        for seq in range(max(1, from_seq), min(to_seq, len(self.records)) + 1):
            yield self.records[seq - 1]

    async def follow(self, from_seq: int) -> AsyncIterator[AnyRecord]:
        next_seq = max(1, from_seq)
        while True:
            while next_seq <= len(self.records):
                yield self.records[next_seq - 1]
                next_seq += 1
            await self._grew.wait()


class LogSource:
    """The engine's file log under ``DATA_DIR/log`` (``engine.log``)."""

    def __init__(self, log_dir: Path, poll: float = 0.05, follow_poll: float = 0.002) -> None:
        self.log_dir = log_dir
        self.poll = poll  # waiting for the log directory to appear
        self.follow_poll = follow_poll  # waiting for new commits
        self._reader: object | None = None

    def head(self) -> int:
        head = getattr(self._reader, "head_seq", 0)
        return head if isinstance(head, int) else 0

    def nudge(self) -> None:
        nudge = getattr(self._reader, "nudge", None)
        if nudge is not None:
            nudge()

    def read(self, from_seq: int, to_seq: int) -> Iterator[AnyRecord]:
        return read_log(self.log_dir, from_seq, to_seq)

    async def follow(self, from_seq: int) -> AsyncIterator[AnyRecord]:
        from engine import log as logmod  # imported late: the gateway runs without it in tests

        while not self.log_dir.is_dir():  # a gateway may start before the engine's first write
            await trio.sleep(self.poll)
        reader = logmod.open_reader(self.log_dir)
        self._reader = reader
        try:
            async for record in reader.follow(from_seq, self.follow_poll):
                yield record
        finally:
            reader.close()
