"""Per-team message history, live fan-out with bounded buffers, and resume by seq.

Theory of operation
-------------------
ARCHITECTURE rule 5: "resumes after N with no gap and no duplicate ... A slow
WebSocket client gets a bounded buffer, then a close with a clear code, and resumes
by seq: it never stalls the gateway or other clients."

Each team's stream keeps its last ``events_history`` message bodies (shared bytes; the
per-team ``{"seq":N,`` prefix is spliced in when sent). A ``Subscription`` starts
*catching up*: it reads history from ``after_seq + 1`` up to the head. The moment it
reaches the head it turns *live*, in the same synchronous step as its last history
read (trio cannot switch tasks in between), and from then on ``publish`` offers each
new message to its bounded memory channel with ``send_nowait``. That is "subscribe,
replay, then drop live messages with seq <= last sent", without a window for a gap.

``publish`` never awaits: a full channel means the client is slower than the market,
so the subscription is cut (``SlowConsumer``) and its connection closes with code
4008; the bot resumes with ``last_seq``. Catching up reads history directly, so a
long replay cannot overflow the channel; if history is evicted under a slow reader,
``SnapshotRequired``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import trio

from gateway.projection.fold import Delivery
from gateway.projection.messages import frame

SLOW_CONSUMER_CODE = 4008
SLOW_CONSUMER_REASON = "slow consumer: resume with last_seq"
SNAPSHOT_REQUIRED_CODE = 4010
SNAPSHOT_REQUIRED_REASON = "snapshot_required: reconnect without last_seq"


class SnapshotRequired(Exception):
    """The messages asked for are older than the history kept."""

    def __init__(self, oldest: int) -> None:
        super().__init__(f"history starts at seq {oldest}")
        self.oldest = oldest


class SlowConsumer(Exception):
    """The subscription's buffer overflowed; the client must resume by seq."""


class TeamStream:
    __slots__ = ("bodies", "first", "head", "limit", "subscribers")

    def __init__(self, limit: int) -> None:
        self.bodies: deque[bytes] = deque()
        self.first = 1  # seq of bodies[0]
        self.head = 0  # last seq appended
        self.limit = max(1, limit)
        self.subscribers: list[Subscription] = []

    def append(self, seq: int, body: bytes) -> None:
        if seq != self.head + 1:
            raise ValueError(f"stream gap: seq {seq} after {self.head}")
        self.bodies.append(body)
        self.head = seq
        if len(self.bodies) > self.limit:
            self.bodies.popleft()
            self.first += 1

    def body(self, seq: int) -> bytes:
        if seq < self.first:
            raise SnapshotRequired(self.first)
        return self.bodies[seq - self.first]

    def check(self, after_seq: int) -> None:
        """Raise unless every message after ``after_seq`` is still kept."""
        if after_seq + 1 < self.first and after_seq < self.head:
            raise SnapshotRequired(self.first)


class Subscription:
    """One consumer of one team's stream, from ``after_seq + 1`` on, then live."""

    def __init__(self, stream: TeamStream, after_seq: int, queue_size: int) -> None:
        self._stream = stream
        self.next_seq = after_seq + 1
        self.live = False
        self.slow = False
        self._send, self._receive = trio.open_memory_channel[tuple[int, bytes]](queue_size)

    def offer(self, seq: int, body: bytes) -> None:
        """Called by ``publish``; never blocks."""
        try:
            self._send.send_nowait((seq, body))
        except trio.WouldBlock:
            self.slow = True
            self.close()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.close()

    def close(self) -> None:
        self._send.close()
        if self in self._stream.subscribers:
            self._stream.subscribers.remove(self)

    async def next(self) -> tuple[int, bytes]:
        """The next message ``(seq, frame)``; raises ``SlowConsumer`` or ``SnapshotRequired``."""
        stream = self._stream
        while True:
            if not self.live:
                if self.next_seq <= stream.head:
                    seq = self.next_seq
                    body = stream.body(seq)
                    self.next_seq = seq + 1
                    await trio.lowlevel.checkpoint()
                    return seq, frame(seq, body)
                # caught up: from here on publish feeds us (no await since the check)
                self.live = True
                stream.subscribers.append(self)
            try:
                seq, body = await self._receive.receive()
            except trio.EndOfChannel:
                raise SlowConsumer(SLOW_CONSUMER_REASON) from None
            if seq < self.next_seq:
                continue  # already sent from history
            self.next_seq = seq + 1
            return seq, frame(seq, body)


class Streams:
    def __init__(self, history: int, queue_size: int) -> None:
        self.history = history
        self.queue_size = queue_size
        self._streams: dict[str, TeamStream] = {}
        self.connections: dict[str, int] = {}
        self.slow_disconnects = 0

    def stream(self, team_id: str) -> TeamStream:
        stream = self._streams.get(team_id)
        if stream is None:
            stream = self._streams[team_id] = TeamStream(self.history)
        return stream

    def head(self, team_id: str) -> int:
        stream = self._streams.get(team_id)
        return stream.head if stream is not None else 0

    def publish(self, deliveries: Iterable[Delivery]) -> None:
        for d in deliveries:
            stream = self.stream(d.team_id)
            stream.append(d.seq, d.body)
            for sub in tuple(stream.subscribers):
                sub.offer(d.seq, d.body)
                if sub.slow:
                    self.slow_disconnects += 1

    def subscribe(self, team_id: str, after_seq: int) -> Subscription:
        """Messages after ``after_seq``, then live; raises ``SnapshotRequired`` if too old."""
        stream = self.stream(team_id)
        stream.check(after_seq)
        return Subscription(stream, after_seq, self.queue_size)

    def page(self, team_id: str, after_seq: int, limit: int) -> list[bytes]:
        """Up to ``limit`` complete messages after ``after_seq`` (for ``GET /events``)."""
        stream = self.stream(team_id)
        stream.check(after_seq)
        start = max(after_seq + 1, stream.first)
        end = min(stream.head, after_seq + limit)
        return [frame(seq, stream.bodies[seq - stream.first]) for seq in range(start, end + 1)]

    @property
    def subscribers(self) -> int:
        return sum(self.connections.values())
