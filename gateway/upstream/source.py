"""Where the gateway's records come from: the engine's log, or a list in memory.

``follow(from_seq)`` yields every record from ``from_seq`` on, in seq order, and then
waits for more, forever. ``head()`` is the log's last seq (for the lag metric).
``read(from_seq, to_seq)`` is a range read that blocks: the history archive
(``gateway/service/archive.py``) calls it in a worker thread, so it must not touch trio. A
source may also have ``follow_batches(from_seq)``: the same records as ``follow``, in
lists as they were read (a frame of the file log, a message of the stream), so a
gateway catching up folds thousands of records per step instead of resuming a chain of
generators for each one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class BatchSource(RecordSource, Protocol):
    def follow_batches(self, from_seq: int) -> AsyncIterator[list[AnyRecord]]: ...


async def batches(source: RecordSource, from_seq: int) -> AsyncIterator[list[AnyRecord]]:
    """``source``'s records from ``from_seq`` in lists: its own, or one record each."""
    if isinstance(source, BatchSource):
        async for batch in source.follow_batches(from_seq):
            yield batch
    else:  # a paced replay, a test's source: record by record, as they come
        async for record in source.follow(from_seq):
            yield [record]


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

    async def follow_batches(self, from_seq: int) -> AsyncIterator[list[AnyRecord]]:
        next_seq = max(1, from_seq)
        while True:
            if next_seq <= len(self.records):
                batch = self.records[next_seq - 1 :]
                next_seq += len(batch)
                yield batch
                continue
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
        async with contextlib.aclosing(self.follow_batches(from_seq)) as batches:
            async for batch in batches:
                for record in batch:
                    yield record

    async def follow_batches(self, from_seq: int) -> AsyncGenerator[list[AnyRecord], None]:
        from engine import log as logmod  # imported late: the gateway runs without it in tests

        while not self.log_dir.is_dir():  # a gateway may start before the engine's first write
            await trio.sleep(self.poll)
        reader = logmod.open_reader(self.log_dir)
        self._reader = reader
        try:
            async for batch in reader.follow_batches(from_seq, self.follow_poll):
                yield batch
        finally:
            reader.close()
