"""The dashboard's one public stream: sequenced, kept, resumable like a team's.

It is a ``TeamStream`` of its own (``gateway.streams``) whose every message is its own,
numbered 1, 2, 3, ... in the order the log causes them, so ``Subscription`` gives it
the teams' rules unchanged: history then live with no gap, a bounded buffer, ``last_seq``
resume, ``SnapshotRequired`` when the history kept no longer covers it. A fresh
connection gets a ``dashboard_snapshot`` at the head, then the deltas after it.

Quotes, books and trades are sent once per tick, not once per record: at 20 ticks a
second the market data alone is ~440 records a second, and a hundred pages reading one
frame each per record cost the gateway more than the bots do (``./scripts/bench
dashboard`` measured a gateway falling behind its log). So they are gathered and sent
as one ``quotes``, one ``books`` (each touched instrument's top 5 as of then) and one
``trades`` message when the next tick starts or the phase changes: still a function of
the log alone, the same on every gateway.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from engine.records import AnyRecord, PhaseChanged, TickStarted
from gateway.projection import public
from gateway.projection.fold import Projection
from gateway.projection.messages import stream_frame
from gateway.streams import RoleLog, SnapshotRequired, Subscription, TeamStream

#: Recent trades and headlines a snapshot carries, so a new page has a tape at once.
RECENT = 50
#: At most this many messages kept for resume, whatever ``events_history`` says: a page
#: resumes after a dropped connection, not after an hour, and a leaderboard per tick
#: would make a team-sized history hundreds of MB. Older resumes get a fresh snapshot.
HISTORY = 50_000


class PublicStream:
    def __init__(self, history: int, queue_size: int) -> None:
        self.queue_size = queue_size
        self.stream = TeamStream(RoleLog(1), min(history, HISTORY))
        self.trades: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.news: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.connections = 0
        self._quotes: dict[str, dict[str, Any]] = {}  # gathered until the next tick
        self._books: dict[str, None] = {}  # instruments touched, in log order
        self._trades: list[dict[str, Any]] = []

    @property
    def head(self) -> int:
        return self.stream.head

    def publish(self, projection: Projection, record: AnyRecord) -> None:
        """After ``projection`` folded ``record``: append and offer its public messages."""
        if isinstance(record, TickStarted | PhaseChanged):
            self._flush(projection, record.ts)
        for kind, data in public.messages(projection, record):
            if kind == public.QUOTE:
                self._quotes[data["instrument_id"]] = data
            elif kind == public.BOOK:
                self._books[data["instrument_id"]] = None
            elif kind == public.TRADE:
                self._trades.append(data)
            else:
                if kind == public.NEWS:
                    self.news.append(data)
                self._append(kind, record.ts, data)

    def _flush(self, projection: Projection, ts: int) -> None:
        if self._quotes:
            self._append(public.QUOTES, ts, {"quotes": list(self._quotes.values())})
            self._quotes.clear()
        if self._books:
            books = [public.book(projection, i) for i in self._books]
            self._append(public.BOOKS, ts, {"books": books})
            self._books.clear()
        if self._trades:
            self.trades.extend(self._trades)  # a snapshot's tape: what was sent before it
            self._append(public.TRADES, ts, {"trades": self._trades})
            self._trades = []

    def _append(self, kind: str, ts: int, data: dict[str, Any]) -> None:
        body = public.body(kind, ts, data)
        stream = self.stream
        seq = stream.head + 1
        stream.append(seq, body)
        for sub in tuple(stream.subscribers):
            sub.offer(seq, body)

    def open(
        self, projection: Projection, last_seq: int | None
    ) -> tuple[bytes | None, Subscription]:
        """The first frame (a snapshot unless resuming) and the subscription after it.

        Synchronous: the snapshot and the subscription are taken at one seq.
        Raises ``SnapshotRequired`` when ``last_seq`` is older than the history kept.
        """
        stream = self.stream
        if last_seq is not None:
            if last_seq > stream.head:
                raise SnapshotRequired(stream.first)
            stream.check(last_seq)
            return None, Subscription(stream, last_seq, self.queue_size)
        head = stream.head
        data = public.snapshot(projection, list(self.trades), list(self.news))
        first = stream_frame(head, public.body(public.SNAPSHOT, projection.last_ts, data))
        return first, Subscription(stream, head, self.queue_size)
