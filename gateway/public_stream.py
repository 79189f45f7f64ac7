"""The dashboard's one public stream: sequenced, kept, resumable like a team's.

It is a ``TeamStream`` of its own (``gateway.streams``) whose every message is its own,
numbered 1, 2, 3, ... in the order the log causes them, so ``Subscription`` gives it
the teams' rules unchanged: history then live with no gap, a bounded buffer, ``last_seq``
resume, ``SnapshotRequired`` when the history kept no longer covers it. A fresh
connection gets a ``dashboard_snapshot`` at the head, then the deltas after it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from engine.records import AnyRecord, News, Trade
from gateway.projection import public
from gateway.projection.fold import Projection
from gateway.projection.messages import frame
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

    @property
    def head(self) -> int:
        return self.stream.head

    def publish(self, projection: Projection, record: AnyRecord) -> None:
        """After ``projection`` folded ``record``: append and offer its public messages."""
        produced = public.messages(projection, record)
        if not produced:
            return
        if isinstance(record, Trade):
            self.trades.append(public.trade(record, projection.tick_number))
        elif isinstance(record, News):
            self.news.append(public.news(record))
        stream = self.stream
        for kind, data in produced:
            body = public.body(kind, record.ts, data)
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
        first = frame(head, public.body(public.SNAPSHOT, projection.last_ts, data))
        return first, Subscription(stream, head, self.queue_size)
