"""Per-team message history, live fan-out with bounded buffers, and resume by seq.

Theory of operation
-------------------
docs/architecture.md, The contract, rule 5: a stream resumes after any seq with no
gap and no duplicate; a slow WebSocket client gets a bounded buffer, then a close with
a clear code, and resumes by seq: it never stalls the gateway or other clients. Rule
8: what one team can cost is bounded.

Storage. A broadcast (market_data, tick_start, news, a role's signals) is kept once per
gateway, in the ``Window`` of each role it reaches; a team's stream is its role's
window from the moment the team joined, interleaved with the messages addressed to the
team alone (its own window of ``(seq, body)``). A team's seq ``s`` is one of its own
messages, or else broadcast number ``s - 1 - (own messages before s)`` since it joined.
So an idle team costs a fixed few hundred bytes however long the day, where one entry
per team per broadcast grew every team by ~11 KB a minute. Each window keeps the last
``history`` entries, which covers every team's last ``history`` messages: older is gone
(``first``; the archive folds it again from the log). Bodies are shared bytes; the
per-team ``{"seq":N,`` prefix is spliced in when sent.

Spill. A team's own messages are kept in memory up to ``max_bytes``
(``[gateway] events_history_bytes``, 256 KiB): a ``score_update`` a tick would otherwise
grow an idle team by ~56 KB a minute. Past it the oldest go to disk, not away: before a
message leaves memory it is in the gateway's ``Spill`` (``gateway/service/spill.py``: one
anonymous temporary file for all teams, blocks of ~64 KiB, zlib level 1), written a
block ahead, so memory still keeps to its budget message by message. The team keeps
where its blocks are (``Spilled``: four integers a block, a fraction of a byte a
message). A ``read`` from before the oldest own message in memory takes the own
messages from the blocks (decoded, and kept decoded a while by the spill), then from
memory, and interleaves the role's broadcasts with them exactly as from memory. So a
resume of anything the gateway folded within ``history`` messages is served here,
byte for byte the live stream, at the speed of a read (100k messages in ~0.4 s, where
the archive's fold of a day's log took 13 s); ``first`` rises only for what is truly
gone. Without a spill (the public stream, whose old resumes take a snapshot instead;
or once a write failed: a full disk) what leaves memory is dropped and ``floor`` rises
past it: older is then the archive's.

Resume. A ``Subscription`` starts *catching up*: it reads history from ``after_seq +
1`` up to the head. The moment it reaches the head it turns *live*, in the same
synchronous step as its last history read (trio cannot switch tasks in between), and
from then on ``publish`` offers each new message to its bounded memory channel with
``send_nowait``. That is "subscribe, replay, then drop live messages with seq <= last
sent", without a window for a gap. ``next_batch`` takes every message that is ready at
once (up to a byte budget), so one socket write carries many frames.

``publish`` never awaits: a full channel means the client is slower than the market,
so the subscription is cut (``SlowConsumer``) and its connection closes with code
4008; the bot resumes with ``last_seq``. Catching up reads history directly, so a
long replay cannot overflow the channel; if history is evicted under a slow reader,
``SnapshotRequired``.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar, cast

import trio

from gateway.projection.fold import Broadcast, Delivery
from gateway.projection.messages import stream_frame
from gateway.service.spill import BLOCK, Spill

SLOW_CONSUMER_REASON = "slow consumer: resume with last_seq"
SNAPSHOT_REQUIRED_REASON = "snapshot_required: reconnect without last_seq"

T = TypeVar("T")


class SnapshotRequired(Exception):
    """The messages asked for are older than the history kept."""

    def __init__(self, oldest: int) -> None:
        super().__init__(f"history starts at seq {oldest}")
        self.oldest = oldest


class SlowConsumer(Exception):
    """The subscription's buffer overflowed; the client must resume by seq."""


class Window(Generic[T]):
    """The last entries of an append-only sequence, indexed by absolute position."""

    __slots__ = ("_items", "_skip", "first")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._skip = 0  # evicted entries still at the front of ``_items``
        self.first = 0  # absolute index of the oldest kept entry

    @property
    def end(self) -> int:
        """Absolute index one past the newest entry (entries ever appended)."""
        return self.first + len(self._items) - self._skip

    def append(self, item: T) -> None:
        self._items.append(item)

    def __getitem__(self, index: int) -> T:
        return self._items[index - self.first + self._skip]

    def keep_last(self, count: int) -> None:
        """Forget all but the newest ``count`` entries (a no-op while fewer are kept)."""
        if len(self._items) - self._skip > count:
            self.keep_from(self.end - count)

    def keep_from(self, index: int) -> None:
        """Forget entries before absolute ``index``."""
        drop = min(index, self.end) - self.first
        if drop <= 0:
            return
        self.first += drop
        start = self._skip
        self._skip += drop
        if self._skip > 1024 and self._skip * 2 > len(self._items):
            del self._items[: self._skip]  # amortised O(1) per entry
            self._skip = 0
        elif drop == 1:
            self._items[start] = cast(T, None)
        else:
            # let go of what was dropped now: until the list was compacted it still held
            # up to as many bodies again as the window keeps (2x a byte budget)
            self._items[start : self._skip] = [cast(T, None)] * drop


def first_at_least(window: Window[int], value: int) -> int:
    """Absolute index of the first kept entry >= ``value`` (a sorted window)."""
    items = window._items
    return bisect_left(items, value, window._skip) - window._skip + window.first


class RoleLog:
    """The broadcasts every team of one role receives, kept once."""

    __slots__ = ("bodies", "limit", "subscribers")

    def __init__(self, limit: int) -> None:
        self.bodies: Window[bytes] = Window()
        self.limit = limit
        self.subscribers: list[Subscription] = []  # live, of any team of the role

    def append(self, body: bytes) -> None:
        # ``bodies.append(body); bodies.keep_last(limit)`` without two calls: every
        # broadcast comes here once per role
        bodies = self.bodies
        items = bodies._items
        items.append(body)
        if len(items) - bodies._skip > self.limit:
            bodies.keep_from(bodies.end - self.limit)


class TeamStream:
    __slots__ = ("base", "floor", "limit", "log", "max_bytes", "own", "own_bytes", "own_seqs",
                 "spill", "spilled", "subscribers")  # fmt: skip

    def __init__(
        self, log: RoleLog, limit: int, max_bytes: int = 0, spill: Spill | None = None
    ) -> None:
        self.log = log
        self.base = log.bodies.end  # the role's broadcasts before the team joined
        self.limit = max(1, limit)
        # the team's own messages kept in memory, in bytes (0: no limit). A score_update
        # every tick is ~1 KB a team, so a message count alone let an idle team grow by
        # 56 KB a minute (issue 38 item 5); what is older goes to ``spill`` (on disk)
        # and is read back from there, or without one is dropped (from the archive then)
        self.max_bytes = max_bytes
        self.own_bytes = 0
        self.floor = 1  # the oldest seq still complete once own messages were dropped
        self.own_seqs: Window[int] = Window()  # seqs of messages to this team alone
        self.own: Window[bytes] = Window()  # their bodies, same indices
        self.spill = spill
        self.spilled: Spilled | None = None  # where the blocks written to ``spill`` are
        self.subscribers: list[Subscription] = []  # live, of this team

    @property
    def head(self) -> int:
        """Last seq of the stream."""
        return self.own.end + self.log.bodies.end - self.base

    @property
    def first(self) -> int:
        """Seq of the oldest message kept."""
        return max(1, self.head - self.limit + 1, self.floor)

    def append(self, seq: int, body: bytes) -> None:
        if seq != self.head + 1:
            raise ValueError(f"stream gap: seq {seq} after {self.head}")
        own_seqs, own = self.own_seqs, self.own
        own_seqs.append(seq)
        own.append(body)
        oldest = first_at_least(own_seqs, seq - self.limit + 1)
        if self.max_bytes:
            size = self.own_bytes + len(body)
            for index in range(own.first, oldest):  # dropped by count
                size -= len(own[index])
            if size > self.max_bytes:
                size, oldest = self._shed(size, oldest)
            self.own_bytes = size
        own_seqs.keep_from(oldest)
        own.keep_from(oldest)
        spilled = self.spilled
        # blocks wholly past ``events_history``: their bytes stay in the file, unread
        if (
            spilled is not None
            and spilled.last[0] < seq - self.limit + 1
            and not spilled.keep_from(seq - self.limit + 1)
        ):
            self.spilled = None

    def _shed(self, size: int, oldest: int) -> tuple[int, int]:
        """Own messages from ``oldest`` on are ``size`` bytes, over ``max_bytes``: drop
        the oldest (the newest is kept), each written to ``spill`` first; the bytes
        left and the new oldest."""
        own_seqs, own, newest = self.own_seqs, self.own, self.own.end - 1
        stop = oldest
        while size > self.max_bytes and stop < newest:
            size -= len(own[stop])
            stop += 1
        spill, spilled = self.spill, self.spilled
        written = spilled.end if spilled is not None else 0
        while written < stop and spill is not None:
            # a block from the oldest not on disk yet: ~``BLOCK`` bytes, and at least all
            # that is dropped now. Those not dropped yet stay in memory too, so the window
            # still keeps to ``max_bytes`` message by message (no saw tooth of a block)
            begin = end = max(written, oldest)
            raw = 0
            while end < own.end and (end < stop or raw < BLOCK):
                raw += len(own[end])
                end += 1
            seqs = [own_seqs[i] for i in range(begin, end)]
            where = spill.write(seqs, [own[i] for i in range(begin, end)])
            if where is None:
                break  # the spill is off (a write failed): drop as before the spill
            if spilled is None:
                spilled = self.spilled = Spilled()
            spilled.add(seqs[-1], begin, end, *where)
            written = end
        if written < stop:
            # dropped for good: from the archive
            self.floor = own_seqs[stop - 1] + 1
        return size, stop

    def read(self, start: int, count: int) -> list[tuple[int, bytes]]:
        """Messages ``start .. start + count - 1`` (within the head), oldest first."""
        if start < self.first:
            raise SnapshotRequired(self.first)
        end = min(self.head, start + count - 1)
        if end < start:
            return []
        own_seqs, own, bodies = self.own_seqs, self.own, self.log.bodies
        spilled = self.spilled
        if (
            spilled is not None
            and start <= spilled.last[-1]
            and (own.first == own.end or start < own_seqs[own.first])
        ):
            return self._read_spilled(spilled, start, end)
        k = first_at_least(own_seqs, start)  # next own message at or after start
        own_end = own_seqs.end
        # broadcasts before ``start`` = the messages before it that were not the team's own
        b = self.base + (start - 1) - k
        out: list[tuple[int, bytes]] = []
        append = out.append
        next_own = own_seqs[k] if k < own_end else 0
        for seq in range(start, end + 1):
            if seq == next_own:
                append((seq, own[k]))
                k += 1
                next_own = own_seqs[k] if k < own_end else 0
            else:
                append((seq, bodies[b]))
                b += 1
        return out

    def _read_spilled(self, spilled: Spilled, start: int, end: int) -> list[tuple[int, bytes]]:
        """``read`` from a seq before the oldest own message in memory: the same
        interleaving, the own messages from the spill's blocks, then from memory."""
        n = bisect_left(spilled.last, start)  # the first block reaching ``start``
        spill = cast(Spill, self.spill)
        seqs, blocked = spill.read(spilled.offset[n], spilled.length[n])
        i = bisect_left(seqs, start)
        # broadcasts before ``start`` = the messages before it that were not the team's own
        b = self.base + (start - 1) - (spilled.index[n] + i)
        own = self._own_from(spilled, n, seqs, blocked, i)
        next_own, body = next(own, (0, b""))
        bodies = self.log.bodies
        out: list[tuple[int, bytes]] = []
        append = out.append
        for seq in range(start, end + 1):
            if seq == next_own:
                append((seq, body))
                next_own, body = next(own, (0, b""))
            else:
                append((seq, bodies[b]))
                b += 1
        return out

    def _own_from(
        self, spilled: Spilled, n: int, seqs: array[int], bodies: list[bytes], i: int
    ) -> Iterator[tuple[int, bytes]]:
        """The team's own messages from message ``i`` of block ``n`` on: from the blocks
        up to the oldest in memory, then from memory."""
        spill = cast(Spill, self.spill)
        own_seqs, own = self.own_seqs, self.own
        k = spilled.index[n] + i  # the absolute index of message ``i``
        while k < own.first:
            stop = min(len(seqs), i + own.first - k)  # a block's last may be in memory too
            yield from zip(seqs[i:stop], bodies[i:stop], strict=True)
            k += stop - i
            n += 1
            if k == own.first or n == len(spilled.last):
                break
            seqs, bodies = spill.read(spilled.offset[n], spilled.length[n])
            k, i = spilled.index[n], 0
        for index in range(max(k, own.first), own.end):
            yield own_seqs[index], own[index]

    def body(self, seq: int) -> bytes:
        return self.read(seq, 1)[0][1]

    def check(self, after_seq: int) -> None:
        """Raise unless every message after ``after_seq`` is still kept."""
        if after_seq + 1 < self.first and after_seq < self.head:
            raise SnapshotRequired(self.first)


class Spilled:
    """Where a team's spilled own messages are: per block, its last seq, the absolute
    index of its first own message, and its place in the ``Spill``. 32 bytes a block of
    ~64 KiB of messages."""

    __slots__ = ("end", "index", "last", "length", "offset")

    def __init__(self) -> None:
        self.end = 0  # the absolute index after the last message written
        self.last = array("q")
        self.index = array("q")
        self.offset = array("q")
        self.length = array("q")

    def add(self, last: int, index: int, end: int, offset: int, length: int) -> None:
        self.end = end
        self.last.append(last)
        self.index.append(index)
        self.offset.append(offset)
        self.length.append(length)

    def keep_from(self, seq: int) -> int:
        """Forget the blocks wholly before ``seq``; how many are left."""
        drop = bisect_left(self.last, seq)
        for column in (self.last, self.index, self.offset, self.length):
            del column[:drop]
        return len(self.last)


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
        for subscribers in (self._stream.subscribers, self._stream.log.subscribers):
            if self in subscribers:
                subscribers.remove(self)

    def _go_live(self) -> None:
        # caught up: from here on publish feeds us (no await since the last history read)
        self.live = True
        self._stream.subscribers.append(self)
        self._stream.log.subscribers.append(self)

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
                    return seq, stream_frame(seq, body)
                self._go_live()
            try:
                seq, body = await self._receive.receive()
            except trio.EndOfChannel:
                raise SlowConsumer(SLOW_CONSUMER_REASON) from None
            if seq < self.next_seq:
                continue  # already sent from history
            self.next_seq = seq + 1
            return seq, stream_frame(seq, body)

    async def next_batch(self, max_bytes: int) -> list[bytes]:
        """The next message and every one ready after it, up to about ``max_bytes``.

        Frames in seq order; ``next_seq - 1`` is the last one's seq. Raises like ``next``
        only when nothing is left to return.
        """
        _, message = await self.next()
        out = [message]
        self._more(out, len(message), max_bytes)
        return out

    def take(self, max_bytes: int) -> list[bytes]:
        """What ``next_batch`` would return now, without waiting: ``[]`` when nothing is
        ready. Raises ``SlowConsumer`` or ``SnapshotRequired`` like ``next``."""
        out: list[bytes] = []
        self._more(out, 0, max_bytes)
        if not out and self.live and self.slow:
            raise SlowConsumer(SLOW_CONSUMER_REASON)
        return out

    def _more(self, out: list[bytes], size: int, max_bytes: int) -> None:
        """Append to ``out`` the frames ready now, while ``size`` is under ``max_bytes``."""
        stream = self._stream
        while size < max_bytes:
            if not self.live:
                if self.next_seq > stream.head:
                    self._go_live()
                    continue
                count = min(4096, max(1, (max_bytes - size) // 128))
                for seq, body in stream.read(self.next_seq, count):
                    message = stream_frame(seq, body)
                    out.append(message)
                    size += len(message)
                    self.next_seq = seq + 1
                continue
            try:
                seq, body = self._receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break  # an overflow shows at the next call, after these are sent
            if seq < self.next_seq:
                continue
            self.next_seq = seq + 1
            message = stream_frame(seq, body)
            out.append(message)
            size += len(message)


class Streams:
    def __init__(self, history: int, queue_size: int, history_bytes: int = 0) -> None:
        self.history = history
        self.history_bytes = history_bytes  # each team's own messages kept, in bytes
        # and those past it, on disk (one file for all teams, opened at the first block)
        self.spill = Spill() if history_bytes > 0 else None
        self.queue_size = queue_size
        self._streams: dict[str, TeamStream] = {}
        self._roles: dict[str, RoleLog] = {}
        self.connections: dict[str, int] = {}  # subscribed connections by team
        self.sockets = 0  # WebSocket connections open on this gateway, subscribed or not
        self.slow_disconnects = 0

    def _role(self, role: str) -> RoleLog:
        log = self._roles.get(role)
        if log is None:
            log = self._roles[role] = RoleLog(max(1, self.history))
        return log

    def stream(self, team_id: str, role: str = "") -> TeamStream:
        stream = self._streams.get(team_id)
        if stream is None:
            stream = self._streams[team_id] = TeamStream(
                self._role(role), self.history, self.history_bytes, self.spill
            )
        return stream

    def head(self, team_id: str) -> int:
        stream = self._streams.get(team_id)
        return stream.head if stream is not None else 0

    def publish(self, deliveries: Iterable[Delivery | Broadcast]) -> None:
        # ``_offer`` only where someone listens: catching up, or nobody connected, is
        # most messages
        for d in deliveries:
            if isinstance(d, Delivery):
                stream = self.stream(d.team_id, d.role)
                stream.append(d.seq, d.body)
                if stream.subscribers:
                    self._offer(stream.subscribers, d.body)
            elif d.role is None:
                for log in self._roles.values():
                    log.append(d.body)
                    if log.subscribers:
                        self._offer(log.subscribers, d.body)
            elif (role_log := self._roles.get(d.role)) is not None:
                role_log.append(d.body)
                if role_log.subscribers:
                    self._offer(role_log.subscribers, d.body)

    def _offer(self, subscribers: list[Subscription], body: bytes) -> None:
        for sub in tuple(subscribers):
            sub.offer(sub._stream.head, body)
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
        return [stream_frame(seq, body) for seq, body in stream.read(start, limit)]

    @property
    def subscribers(self) -> int:
        return sum(self.connections.values())
