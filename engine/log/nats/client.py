"""``NatsLog``: the session's stream, usable from trio and from plain threads.

It owns the bridge's asyncio thread and one NATS connection. Sync methods (for the
engine's start-up and its log-writer thread) block the calling thread only; ``async``
methods are awaited from trio. Readers and the writer below are built on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

from engine.log.errors import LogError
from engine.log.nats import jetstream
from engine.log.nats.access import NatsAccess
from engine.log.nats.bridge import AsyncioThread
from engine.log.nats.jetstream import Head, JetStream
from engine.log.nats.messages import Names, decode_span
from engine.records import AnyRecord

T = TypeVar("T")
#: Longest a start-up call waits for NATS (a cluster may be electing leaders).
SYNC_TIMEOUT = 60.0
#: Messages handed from the asyncio thread to a reader per crossing.
TAKE = 256


class NatsLog:
    def __init__(
        self,
        url: str,
        session: str,
        *,
        key: bytes,
        access: NatsAccess | None = None,
        client_name: str = "tradepit",
    ) -> None:
        self.url = url
        self.access = access or NatsAccess()
        self.names = Names(session)
        self.bridge = AsyncioThread()
        try:
            nc = self.bridge.run_sync(
                jetstream.connect(url, client_name, self.access), SYNC_TIMEOUT
            )
        except BaseException:
            self.bridge.stop()
            raise
        self.js = JetStream(nc, self.names, key)

    def sync(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.bridge.run_sync(coro, SYNC_TIMEOUT)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return await self.bridge.run(coro)

    def head(self) -> Head:
        return self.sync(self.js.head())

    def close(self) -> None:
        if self.bridge.alive:
            # closing on the way out: nothing is left to tell anyone
            with contextlib.suppress(Exception):
                self.bridge.run_sync(self.js.close(), 5.0)
        self.bridge.stop()

    # ------------------------------------------------------------------ reading

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[AnyRecord]:
        """Records ``from_seq``..``to_seq`` (default: the head now), in a plain thread."""
        start, head = self.sync(self.js.locate(from_seq))
        last = head.log_seq if to_seq is None else min(to_seq, head.log_seq)
        if from_seq > last:
            return
        sub = self.sync(self.js.subscribe(start))
        try:
            expected: int | None = None
            while True:
                messages = self.sync(self.js.take(sub, TAKE, 5.0))
                if not messages:
                    raise LogError(
                        f"stream {self.names.stream} stopped delivering before log seq {last}"
                    )
                for m in messages:
                    found = self.js.sealed(m)
                    if found is None:
                        continue  # forged: no part of the log (warned by ``sealed``)
                    records = decode_span(m.payload, *found, m.stream_seq, expected)
                    if expected is None and records[0].seq > from_seq:
                        raise LogError(f"log seq {from_seq} is not in {self.names.stream}")
                    expected = records[-1].seq + 1
                    for record in records:
                        if from_seq <= record.seq <= last:
                            yield record
                    if expected > last:
                        return
        finally:
            self.sync(self.js.unsubscribe(sub))

    async def follow(self, from_seq: int = 1) -> AsyncIterator[list[AnyRecord]]:
        """Batches of records from ``from_seq`` on, forever (from trio)."""
        start, _ = await self.run(self.js.locate(from_seq))
        sub = await self.run(self.js.subscribe(start))
        try:
            expected: int | None = None
            while True:
                messages = await self.run(self.js.take(sub, TAKE, 1.0))
                for m in messages:
                    found = self.js.sealed(m)
                    if found is None:
                        continue  # forged: no part of the log (warned by ``sealed``)
                    records = decode_span(m.payload, *found, m.stream_seq, expected)
                    if expected is None and records[0].seq > max(from_seq, 1):
                        raise LogError(f"log seq {from_seq} is not in {self.names.stream}")
                    expected = records[-1].seq + 1
                    if records[-1].seq < from_seq:
                        continue
                    if records[0].seq < from_seq:
                        records = records[from_seq - records[0].seq :]
                    yield records
        finally:
            self.bridge.submit(self.js.unsubscribe(sub))
