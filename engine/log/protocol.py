"""The log's interface: what the engine and gateways call, whatever the backend.

The embedded file log implements it; a distributed backend (NATS JetStream) can too,
without touching callers.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator, Sequence
from typing import Protocol

from engine.records import AnyRecord, Record


class LogWriter(Protocol):
    head_seq: int

    def append(self, batch: Sequence[Record]) -> None:
        """Append records whose seqs continue the log; durable when it returns."""

    def close(self) -> None: ...


class LogReader(Protocol):
    @property
    def head_seq(self) -> int:
        """The last durable seq."""

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[AnyRecord]: ...

    def follow(self, from_seq: int = 1, poll: float = ...) -> AsyncGenerator[AnyRecord, None]: ...

    def follow_batches(
        self, from_seq: int = 1, poll: float = ..., limit: int = ...
    ) -> AsyncGenerator[list[AnyRecord], None]: ...

    def close(self) -> None: ...
