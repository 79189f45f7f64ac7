"""The dashboard's one public stream: sequenced, kept, resumable like a team's.

It is a ``TeamStream`` of its own (``gateway.service.streams``) whose every message is its own,
numbered 1, 2, 3, ... in the order the log causes them, so ``Subscription`` gives it
the teams' rules unchanged: history then live with no gap, a bounded buffer, ``last_seq``
resume, ``SnapshotRequired`` when the history kept no longer covers it. A fresh
connection gets a ``dashboard_snapshot`` at the head, then the deltas after it.

What a page draws changes many times a second on a busy day (at 20 ticks a second the
market data alone is ~440 records a second), and a page needs only a few pictures a
second. A hundred pages reading a frame for every record, or even every tick, cost the
gateway more than the bots do: ``./scripts/bench dashboard`` measured the order ack p99
rise 2.8x (26x on a loaded machine) with 100 pages on one gateway. So everything the
page draws is gathered and sent in one burst at most every ``PERIOD_NS`` of log time:
at the first command record at least that long after the last burst (a tick's events
are complete when the next command arrives), and at every phase change. The latest
``tick`` and ``prices``, every ``news`` item, one ``quotes`` (the latest quote of each
instrument), one ``books`` (each touched instrument's top 5 as of then), one ``trades``
and one ``leaderboard``. At the default 1-second tick a burst per tick leaves as before;
at 20 ticks a second, one per five ticks. The bursts are a function of the log alone
(its timestamps), so every gateway numbers the same messages the same way.
"""

from __future__ import annotations

from collections import deque
from typing import Any, cast

from engine.order_types import RESTING
from engine.records import AnyRecord, Command, MarketData, OrderAccepted, OrderCancelled
from gateway.projection import public
from gateway.projection.fold import Projection
from gateway.projection.messages import stream_frame
from gateway.service.streams import RoleLog, SnapshotRequired, Subscription, TeamStream

#: Recent trades and headlines a snapshot carries, so a new page has a tape at once.
RECENT = 50
#: At most this many messages kept for resume, whatever ``events_history`` says: a page
#: resumes after a dropped connection, not after an hour, and a leaderboard per tick
#: would make a team-sized history hundreds of MB. Older resumes get a fresh snapshot.
HISTORY = 50_000
#: The shortest log time between two bursts: four pictures a second.
PERIOD_NS = 250_000_000


class PublicStream:
    def __init__(self, history: int, queue_size: int, history_bytes: int = 0) -> None:
        self.queue_size = queue_size
        # bounded in bytes too (``[gateway] public_history_bytes``): a leaderboard of 500
        # teams is ~100 KB, so 50,000 messages were GBs, and every anonymous
        # ``?last_seq=1`` replayed all of it (issue 38 item 3). A resume older than what
        # is kept is closed 4010 SNAPSHOT_REQUIRED: a page takes a fresh snapshot, which
        # is what it draws anyway, rather than a fold of the log for anyone who asks
        self.stream = TeamStream(RoleLog(1), min(history, HISTORY), history_bytes)
        self.trades: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.news: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.connections = 0
        # /ws/public sockets from the upgrade on, against [gateway] ws_max_public_connections
        self.sockets = 0
        self.opened = 0  # connections ever opened: each page's place in a burst's order
        self._last: dict[str, dict[str, Any]] = {}  # the latest tick and prices, by kind
        self._news: list[dict[str, Any]] = []
        # the latest market data per instrument; its quote is made when a burst sends it
        self._quotes: dict[str, MarketData] = {}
        self._books: dict[str, None] = {}  # instruments touched, in log order
        self._trades: list[dict[str, Any]] = []
        self._board = False  # prices moved since the last burst: the standings may have
        self._flushed_ts = 0

    @property
    def head(self) -> int:
        return self.stream.head

    @property
    def history_messages(self) -> int:
        """Messages kept for a resume by ``last_seq``."""
        return max(0, self.stream.head - self.stream.first + 1)

    @property
    def history_bytes(self) -> int:
        """Their bodies' bytes: at most ``[gateway] public_history_bytes`` (the newest
        message is kept whatever its size)."""
        stream = self.stream
        if stream.max_bytes:  # counted as they come and go
            return stream.own_bytes
        return sum(len(body) for _, body in stream.read(stream.first, stream.head))

    def publish(self, projection: Projection, record: AnyRecord) -> None:
        """After ``projection`` folded ``record``: gather its public messages; send a burst
        when one is due."""
        # the records of a busy day, nine in ten, taken first without making their
        # messages: a touched book is only named, and the quote kept is the last one's
        kind_of = type(record)
        if kind_of is OrderCancelled:
            self._books[cast(OrderCancelled, record).instrument_id] = None
            return
        if kind_of is OrderAccepted:
            accepted = cast(OrderAccepted, record)
            if not accepted.duplicate and accepted.order_type in RESTING:
                self._books[accepted.instrument_id] = None
            return
        if kind_of is MarketData:
            market_data = cast(MarketData, record)
            self._quotes[market_data.instrument_id] = market_data
            return
        if isinstance(record, Command):
            if record.ts - self._flushed_ts >= PERIOD_NS:
                self._flush(projection, record.ts)
            return  # a command's own record says nothing public; its events do
        phase = None
        for kind, data in public.messages(projection, record):
            if kind == public.BOOK:
                self._books[data["instrument_id"]] = None
            elif kind == public.TRADE:
                self._trades.append(data)
            elif kind == public.NEWS:
                self._news.append(data)
            elif kind == public.PRICES:
                self._last[kind] = data
                self._board = True
            elif kind == public.TICK:
                self._last[kind] = data
            elif kind == public.PHASE:
                phase = data
        if phase is not None:  # what came before the change leaves before it
            self._flush(projection, record.ts)
            self._append(public.PHASE, record.ts, phase)

    def _flush(self, projection: Projection, ts: int) -> None:
        self._flushed_ts = ts
        for kind in (public.TICK, public.PRICES):
            if kind in self._last:
                self._append(kind, ts, self._last.pop(kind))
        for headline in self._news:
            self.news.append(headline)
            self._append(public.NEWS, ts, headline)
        self._news.clear()
        if self._quotes:
            quotes = [public.quote(r) for r in self._quotes.values()]
            self._append(public.QUOTES, ts, {"quotes": quotes})
            self._quotes.clear()
        if self._books:
            books = [public.book(projection, i) for i in self._books]
            self._append(public.BOOKS, ts, {"books": books})
            self._books.clear()
        if self._trades:
            self.trades.extend(self._trades)  # a snapshot's tape: what was sent before it
            self._append(public.TRADES, ts, {"trades": self._trades})
            self._trades = []
        if self._board:
            self._board = False
            board = public.leaderboard(projection)
            if board is not None:
                self._append(public.LEADERBOARD, ts, board)

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
