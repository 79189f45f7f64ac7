"""History older than the gateway keeps, rebuilt from the log.

Theory of operation
-------------------
A gateway keeps the last ``[gateway] events_history`` messages of each team's stream
(``gateway/service/streams.py``: in memory, and a team's own messages past
``events_history_bytes`` in its spill on disk, ``gateway/service/spill.py``). Anything
older is still in the log (as is what a failed spill write dropped), and
docs/architecture.md (rule 4) says the fold is a pure function of it: a fresh
``Projection`` folding the log from seq 1 makes every team's messages again, with the
same bodies and the same seqs, byte for byte, because it is the very code the live
gateway runs. So a resume older than memory is a fold of the log, from which the asking
team's messages are kept.

Cost, and who pays it. A fold from seq 1 to a point deep in a long session is seconds
of CPU; the live stream must not wait for it. So:

* the fold runs in a worker thread (``trio.to_thread``): the gateway's trio thread
  keeps answering and fanning out meanwhile (the GIL is shared, hence the next point);
* at most ``[gateway] archive_records_per_second`` records a second are folded, over
  all requests (a pacing clock kept across pages): the rest of the CPU stays with the
  live path whatever the bots ask;
* served per team in turn (issue 38, item 8: one global queue of pages made another
  team's page wait ~8 s behind one team paging through a day): a team's pages run one
  at a time (a lock per team), at most ``ACTIVE`` (2) teams' pages fold at once (each
  fold is a projection: a thousand bots resuming from 0 queue up instead of running a
  thousand), and those take the worker thread a chunk each in turn (a FIFO
  ``trio.Lock`` taken per chunk, not per page), so a short page is not queued behind
  a long one;
* a fold is kept between pages (``_Fold``: its projection and the last record it
  folded). A page that follows it, for that team or any team whose messages it has not
  passed yet, continues from there instead of from seq 1, so paging through the whole
  old history folds the log once instead of once per page (``tests/gateway/test_archive.py``).
  A page further back starts a new fold. The last ``FOLDS_KEPT`` folds are kept, so a
  few bots catching up at once, their pages interleaved by the lock, each keep theirs.
  One fold costs about as much memory as the live projection; one is dropped when it
  fails or its page is cancelled (its state may be half way through a chunk).

A page is read up to ``to_seq``, the live projection's position when it was asked,
and ends at the team's head there, so it never runs ahead of what the gateway itself
has published.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import trio

from engine.config import Config
from engine.records import AnyRecord
from gateway.projection.fold import Delivery, Projection
from gateway.service.metrics import Metrics
from gateway.upstream.source import RecordSource

Message = tuple[int, bytes]  # (the team's seq, the message body as the live stream keeps it)

#: Records folded per trip to the worker thread when there is no budget to pace by.
CHUNK = 4096
#: Folds kept for later pages, and folding at once: each is a whole projection.
FOLDS_KEPT = 4
#: Teams whose pages fold at once, taking chunks in turn (a slot is held for a page, so
#: a third team waits one page at most). A page continuing a kept fold takes it out of
#: the list, so there are at most ``FOLDS_KEPT + ACTIVE`` projections besides the live
#: one; trimming the kept ones instead made teams paging in turn drop each other's
#: folds and fold from seq 1 for every page.
ACTIVE = 2


def team_messages(projection: Projection, record: AnyRecord, team_id: str) -> list[Message]:
    """Fold ``record``; the messages it adds to ``team_id``'s stream, numbered.

    The numbering is ``Streams.publish``'s: a team's own message carries its seq, and
    every broadcast to the team's role (or to all) after its registration is its next.
    """
    seq = projection.stream_head(team_id)
    out: list[Message] = []
    deliveries = projection.fold(record)
    team = projection.teams.get(team_id)
    if team is None or not team.streams:
        return out
    for d in deliveries:
        if isinstance(d, Delivery):
            if d.team_id == team_id:
                seq = d.seq
                out.append((seq, d.body))
        elif d.role is None or d.role == team.role:
            seq += 1
            out.append((seq, d.body))
    return out


class _Fold:
    """A projection folded up to ``position``, and what its last record left unserved."""

    def __init__(self, config: Config) -> None:
        self.projection = Projection(config)
        self.team_id = ""  # whose messages ``pending`` holds
        self.pending: list[Message] = []  # made by folded records, beyond the last page

    @property
    def position(self) -> int:
        return self.projection.applied_seq

    def continues(self, team_id: str, after_seq: int) -> bool:
        """Whether every message of ``team_id`` after ``after_seq`` is still ahead of
        this fold, or kept in ``pending``."""
        if after_seq >= self.projection.stream_head(team_id):
            return True
        return (
            team_id == self.team_id and bool(self.pending) and self.pending[0][0] <= after_seq + 1
        )

    def take_pending(self, team_id: str, after_seq: int) -> list[Message]:
        kept = self.pending if team_id == self.team_id else []
        self.pending = []
        return [m for m in kept if m[0] > after_seq]

    def run(
        self,
        records: Iterator[AnyRecord],
        count: int,
        team_id: str,
        after_seq: int,
        last: int,
        out: list[Message],
    ) -> int:
        """Fold up to ``count`` records, appending the team's messages after
        ``after_seq`` to ``out``; stop once message ``last`` is in. Records folded.

        Runs in a worker thread: it touches nothing but this fold and ``out``.
        """
        projection = self.projection
        folded = 0
        for record in records:
            folded += 1
            for message in team_messages(projection, record, team_id):
                if message[0] > after_seq:
                    out.append(message)
            if folded >= count or (out and out[-1][0] >= last):
                break
        return folded


class Archive:
    """Pages of a team's stream from the log: ``page`` is ``Streams.page`` for any seq."""

    def __init__(
        self, config: Config, source: RecordSource, records_per_second: int, metrics: Metrics
    ) -> None:
        self._config = config
        self._source = source
        self._rate = records_per_second  # 0: no limit
        self._chunk = max(1, records_per_second // 20) if records_per_second else CHUNK
        self._metrics = metrics
        self._turn = trio.Lock()  # the worker thread, a chunk at a time (FIFO: in turn)
        self._slots = trio.Semaphore(ACTIVE)
        self._teams: dict[str, tuple[trio.Lock, int]] = {}  # a team's pages, and how many
        self._folds: list[_Fold] = []  # least recently used first
        self._ready_at = -math.inf  # when the budget lets the next chunk be folded

    def queued(self) -> dict[str, int]:
        """Pages asked by each team and not yet answered: one folding, the rest waiting
        their team's turn (``/metrics``: who is paging, and how deep)."""
        return {team_id: waiting for team_id, (_, waiting) in self._teams.items()}

    async def page(
        self, team_id: str, after_seq: int, limit: int, to_seq: int, head: int
    ) -> list[Message]:
        """Messages ``after_seq + 1 ..`` of ``team_id``'s stream, at most ``limit`` and
        at most up to ``head``, its head once the log is folded to ``to_seq``."""
        last = min(after_seq + limit, head)
        if last <= after_seq:
            return []
        lock, waiting = self._teams.get(team_id) or (trio.Lock(), 0)
        self._teams[team_id] = (lock, waiting + 1)
        try:
            async with lock, self._slots:  # one page of a team at a time, ACTIVE teams
                out = await self._page(team_id, after_seq, last, to_seq)
        finally:
            lock, waiting = self._teams[team_id]
            if waiting == 1:
                del self._teams[team_id]
            else:
                self._teams[team_id] = (lock, waiting - 1)
        self._metrics.archive_pages += 1
        return out

    async def _page(self, team_id: str, after_seq: int, last: int, to_seq: int) -> list[Message]:
        fold = self._take(team_id, after_seq, to_seq)  # back in the list once done
        out = fold.take_pending(team_id, after_seq)
        if not out or out[-1][0] < last:
            # a failed or cancelled fold is not kept (half way through a chunk)
            await self._fold_until(fold, team_id, after_seq, last, to_seq, out)
        fold.team_id, fold.pending = team_id, out[last - after_seq :]
        self._folds.append(fold)
        del self._folds[:-FOLDS_KEPT]
        return out[: last - after_seq]

    def _take(self, team_id: str, after_seq: int, to_seq: int) -> _Fold:
        """The furthest kept fold this page can continue, or a new one from seq 1."""
        usable = [
            f for f in self._folds if f.position <= to_seq and f.continues(team_id, after_seq)
        ]
        if usable:
            fold = max(usable, key=lambda f: f.position)
            self._folds.remove(fold)
            return fold
        self._metrics.archive_folds += 1
        return _Fold(self._config)

    async def _fold_until(
        self, fold: _Fold, team_id: str, after_seq: int, last: int, to_seq: int, out: list[Message]
    ) -> None:
        records = self._source.read(fold.position + 1, to_seq)
        try:
            while fold.position < to_seq:
                count = min(self._chunk, to_seq - fold.position)
                async with self._turn:  # released after each chunk: the next page's turn
                    await self._pace()
                    folded = await trio.to_thread.run_sync(
                        fold.run, records, count, team_id, after_seq, last, out
                    )
                self._metrics.archive_records_folded += folded
                self._spend(folded)
                if out and out[-1][0] >= last:
                    return
                if folded < count:
                    raise RuntimeError(
                        f"the log ended at seq {fold.position}, before seq {to_seq} "
                        "that the gateway has folded"
                    )
        finally:
            close = getattr(records, "close", None)
            if close is not None:  # a NATS consumer unsubscribes through its bridge: blocking
                await trio.to_thread.run_sync(close)

    async def _pace(self) -> None:
        if self._rate:
            await trio.sleep_until(self._ready_at)

    def _spend(self, records: int) -> None:
        if self._rate:
            now = trio.current_time()
            self._ready_at = max(self._ready_at, now) + records / self._rate
