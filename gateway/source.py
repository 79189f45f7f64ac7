"""Where the gateway's records come from: the engine's log, or a list in memory.

``follow(from_seq)`` yields every record from ``from_seq`` on, in seq order, and then
waits for more, forever. ``head()`` is the log's last seq (for the lag metric).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Protocol

import trio

from engine.records import AnyRecord


class RecordSource(Protocol):
    def follow(self, from_seq: int) -> AsyncIterator[AnyRecord]: ...

    def head(self) -> int: ...

    def nudge(self) -> None:
        """New records were committed: look now rather than at the next poll."""


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
