"""The gateway's one object: follows the log into the projection and streams, sends
commands to the engine, and answers with the engine's decision once the projection
has caught up with it (read-your-writes). HTTP and WebSocket layers are thin over it.
"""

from __future__ import annotations

import gc
import hashlib
import heapq
import hmac
import itertools
import logging
import os
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

import msgspec
import trio

from engine import heap
from engine.config import Config
from engine.records import (
    AnyRecord,
    CancelOrder,
    Command,
    RegisterTeam,
)
from engine.wire import Reply
from gateway.errors import ApiError
from gateway.projection import decisions
from gateway.projection.entities import TeamState
from gateway.projection.fold import Projection
from gateway.projection.messages import encode_body, iso_timestamp, stream_frame
from gateway.service import day, registration
from gateway.service.archive import Archive, Message
from gateway.service.budget import Budget, Spend
from gateway.service.metrics import Metrics
from gateway.service.public_stream import PublicStream
from gateway.service.registration import ClientLimit
from gateway.service.streams import SnapshotRequired, Streams, Subscription
from gateway.upstream.engine_client import EngineClient, EngineUnavailable, Ticket, answer
from gateway.upstream.source import RecordSource, batches

#: How long a write waits for the projection to show it before answering anyway.
CATCH_UP_SECONDS = 10.0
#: How long a read waits for the projection to reach the seq committed when it arrived
#: before it answers 503: a gateway this far behind is stuck, and another one may not be.
READ_WAIT_SECONDS = 5.0
#: A catch-up this long is worth a line in the log (a fresh session's is a few records).
CATCH_UP_LOGGED = 10_000

log = logging.getLogger("tradepit.gateway")


class CommandPort(Protocol):
    async def request(self, command: Command) -> Reply: ...


def new_api_key() -> str:
    return secrets.token_urlsafe(32)


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class Gateway:
    def __init__(
        self,
        config: Config,
        engine: CommandPort,
        source: RecordSource,
        *,
        gateway_id: str | None = None,
    ) -> None:
        self.config = config
        # names the process in /health and in every answer's X-Gateway-Id header, so a
        # bot behind one shared port can see which gateway answered it
        self.gateway_id = gateway_id or f"gw-{os.getpid()}"
        self.settings = config.gateway
        self.engine = engine
        self.source = source
        self.projection = Projection(config)
        settings = self.settings
        self.streams = Streams(
            settings.events_history, settings.ws_queue_size, settings.events_history_bytes
        )
        # the dashboard's stream: public data only, its own seqs
        self.public = PublicStream(
            settings.events_history, settings.ws_queue_size, settings.public_history_bytes
        )
        self.metrics = Metrics()
        self.registrations = ClientLimit(settings.registrations_per_minute)
        # history older than ``streams`` keeps, folded again from the log on demand
        self.archive = (
            Archive(config, source, self.settings.archive_records_per_second, self.metrics)
            if self.settings.archive
            else None
        )
        self.budget = Budget(
            config.roles, self.settings.budget_burst_seconds, self.settings.max_writes_in_flight
        )
        self._waiters: list[tuple[int, int, trio.Event]] = []
        self._tiebreak = itertools.count()
        self._connected_before: dict[str, bool] = {}
        self.caught_up = trio.Event()  # set once the projection reached the log's head
        # how long reaching it took, from this process's first read: (records, seconds)
        self.catch_up: tuple[int, float] | None = None
        #: writes the server aborted as stalled (set by the server, read by /metrics)
        self.aborted_writes: Callable[[], int] = lambda: 0
        #: ``tradepit serve``'s state (restarts, backoff) for /health; None when unsupervised
        self.supervisor: Callable[[], dict[str, Any] | None] = lambda: None

    # ------------------------------------------------------------------ the log

    async def follow(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Fold the log into the projection and the streams, forever."""
        task_status.started()
        projection, streams, public = self.projection, self.streams, self.public
        fold, publish, publish_public = projection.fold, streams.publish, public.publish
        unyielded = 0
        started, first_seq = time.perf_counter(), projection.applied_seq
        # whole lists as the source read them: the state is only seen between lists (no
        # await inside one), so the waiters and the head are looked at once a list, not
        # once a record (the head is a ``pread`` of the log's COMMITTED file)
        async for batch in batches(self.source, projection.applied_seq + 1):
            for record in batch:
                deliveries = fold(record)
                if deliveries:  # most records make none: the simulated teams' orders
                    publish(deliveries)
                publish_public(projection, record)
            if not self.caught_up.is_set() and projection.applied_seq >= self.source.head():
                self._caught_up(projection.applied_seq - first_seq, time.perf_counter() - started)
            waiters = self._waiters
            while waiters and waiters[0][0] <= projection.applied_seq:
                heapq.heappop(waiters)[2].set()
            unyielded += len(batch)
            if unyielded >= 512:  # a long replay must not starve the senders
                unyielded = 0
                await trio.lowlevel.checkpoint()

    def _caught_up(self, records: int, seconds: float) -> None:
        self.catch_up = (records, seconds)
        self.caught_up.set()
        if records >= CATCH_UP_LOGGED:
            rate = records / seconds if seconds > 0 else 0.0
            log.info("caught up %d records in %.2f s (%.0f records/s)", records, seconds, rate)

    async def wait_applied(self, seq: int, timeout: float = CATCH_UP_SECONDS) -> bool:
        """Until the projection has applied ``seq``; False if ``timeout`` passed first."""
        if self.projection.applied_seq >= seq:
            return True
        self.source.nudge()  # ``seq`` is committed already: look now, not at the next poll
        done = trio.Event()
        heapq.heappush(self._waiters, (seq, next(self._tiebreak), done))
        with trio.move_on_after(timeout):
            await done.wait()
        return done.is_set()

    async def read_barrier(self) -> int:
        """Before a request: wait until every record committed when it arrived is applied.

        docs/scaling.md (and rule 4 of docs/architecture.md): with gateways behind one
        address, a bot's write through one gateway and its read through another must
        still agree. The engine answers a write only after publishing its commit, so the
        committed seq read here (one ``pread`` of the log's COMMITTED file) covers every
        write already answered. Returns the seq the read reflects; 503 if this gateway
        cannot get there in time.
        """
        target = self.source.head()
        if not await self.wait_applied(target, READ_WAIT_SECONDS):
            applied = self.projection.applied_seq
            raise ApiError(
                "SERVICE_UNAVAILABLE",
                f"this gateway is {target - applied} records behind the log; retry shortly",
                {
                    "retry_after": 1.0,
                    "committed_seq": target,
                    "applied_seq": applied,
                    "gateway_id": self.gateway_id,
                },
            )
        return self.projection.applied_seq

    @property
    def lag(self) -> int:
        return max(0, self.source.head() - self.projection.applied_seq)

    # ------------------------------------------------------------------ auth

    def authenticate(self, api_key: str | None) -> TeamState:
        if not api_key:
            raise ApiError("UNAUTHORIZED", "missing X-API-Key")
        digest = hash_key(api_key)
        team = self.projection.team_for_key_hash(digest)
        # the dict lookup finds the candidate; the comparison that decides is constant-time
        if team is None or not hmac.compare_digest(team.api_key_hash, digest):
            raise ApiError("UNAUTHORIZED", "invalid API key")
        return team

    def trader(self, api_key: str | None) -> TeamState:
        """The team behind a key, allowed to send orders (not disabled by an admin)."""
        team = self.authenticate(api_key)
        if team.disabled:
            raise ApiError("FORBIDDEN", "this team was disabled by the organisers")
        return team

    async def admin(self, command: Command) -> dict[str, Any]:
        """Forward an admin command (the caller checked the admin token)."""
        reply = await self._send(command)
        decisions.raise_rejection(reply.events)
        events = reply.events
        # at most 50 shown: the first ones (what the command did) and the last (its
        # outcome: the bell's cancellations of every resting order end in its final seq)
        shown = events if len(events) <= 50 else [*events[:25], *events[-25:]]
        return {
            "seq": reply.seq,
            "applied": [msgspec.structs.asdict(e) for e in shown],
            "applied_count": len(events),
        }

    def own_team(self, team: TeamState, team_id: str) -> TeamState:
        if team_id != team.team_id:
            if self.projection.team(team_id) is None:
                raise ApiError("TEAM_NOT_FOUND", f"no team {team_id!r}")
            raise ApiError("FORBIDDEN", "another team's resource")
        return team

    # ------------------------------------------------------------------ writes

    def _ended(self) -> ApiError:
        # after the bell the engine has stopped (its log can take nothing more): the
        # refusal its core gave, answered from the projection
        return ApiError(
            "COMPETITION_ENDED",
            "the competition has ended: the market stays closed",
            {"final_seq": self.projection.final_seq},
        )

    async def _send(self, command: Command) -> Reply:
        if self.projection.final_seq:
            raise self._ended()
        try:
            reply = await self.engine.request(command)
        except EngineUnavailable as exc:
            raise _unavailable(exc) from None
        await self.wait_applied(decisions.last_seq(reply.seq, reply.events))
        return reply

    async def lockstep_done(self, team: TeamState, tick: int) -> dict[str, Any]:
        """The bot is done with ``tick``: a lockstep clock may start the next one."""
        done = getattr(self.engine, "done", None)  # a replay's port has no clock to move
        if done is None:
            raise ApiError("REPLAY_READ_ONLY", "this is a replay of a recorded session")
        try:
            current: int = await done(team.team_id, tick)
        except EngineUnavailable as exc:
            raise ApiError(exc.code, str(exc)) from None
        p = self.projection
        return {"tick_number": current, "clock_mode": p.clock_mode, "team_id": team.team_id}

    async def register(self, command: RegisterTeam) -> dict[str, Any]:
        """Register the team ``command`` names (its key made by ``new_api_key``)."""
        # closed or full: answered here from the projection, the log stays as it is
        await self.read_barrier()
        registration.precheck(self.projection)
        reply = await self._send(command)
        return decisions.registered(reply.events)

    async def write(
        self, team: TeamState, kind: str, command: Callable[[], Command]
    ) -> dict[str, Any]:
        """A write of ``kind`` (order, quote, cancel, cancel_all), answered as its REST
        call. ``command`` is a function the edge made from the request: it runs inside
        the team's budget, so a request the edge refuses costs its sender."""
        with self.budget.write(team.team_id, team.role) as spend:
            made = command()
            return self._answer(kind, (await self._send(made)).events, spend, made)

    def _answer(
        self, kind: str, events: list[AnyRecord], spend: Spend, made: object
    ) -> dict[str, Any]:
        """A write's answer from its engine events (``write`` and ``finish``)."""
        if kind == "order":
            return self._ordered(events, spend)
        if kind == "quote":
            return _quoted(events, spend)
        if kind == "cancel":
            assert isinstance(made, CancelOrder)
            return _cancelled(events, spend, made)
        return _all_cancelled(events, spend)

    def _ordered(self, events: list[AnyRecord], spend: Spend) -> dict[str, Any]:
        data = decisions.order(events)
        if data["duplicate"]:  # a repeated client_order_id: answer with the original now
            original = self.projection.orders.get(data["order_id"])
            data["status"] = original.status if original else "closed"
        else:
            spend.useful()
        return data

    # A socket's batch of writes (``gateway.web.ws_orders``): each begun at once, in the
    # order given, then all settled together. The same budget, validation, engine
    # command and answer as the calls above, with one wait for the engine's answers and
    # one for the projection's fold of them instead of one of each per write.

    @property
    def batches(self) -> bool:
        """Whether writes can be begun without waiting (the engine port can queue them)."""
        return isinstance(self.engine, EngineClient)

    def begin(self, team: TeamState, kind: str, command: Callable[[], Command]) -> Pending:
        """Admit a write of ``kind`` (order, quote, cancel, cancel_all) and queue it to
        the engine now; the 429 or a refusal of the command raises here."""
        spend = self.budget.write(team.team_id, team.role)
        try:
            made = command()
            if self.projection.final_seq:
                raise self._ended()
            try:
                ticket = self._port().submit(made)
            except EngineUnavailable as exc:
                raise _unavailable(exc) from None
        except BaseException as exc:
            spend.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return Pending(kind, ticket, spend, made)

    def begin_done(self, team: TeamState, tick: int) -> Pending:
        """``lockstep_done``, queued in its place among the socket's writes."""
        try:
            ticket = self._port().submit_done(team.team_id, tick)
        except EngineUnavailable as exc:
            raise ApiError(exc.code, str(exc)) from None
        return Pending("lockstep_done", ticket, None, team)

    def _port(self) -> EngineClient:
        assert isinstance(self.engine, EngineClient)
        return self.engine

    async def settle(self, writes: list[Pending]) -> None:
        """Until the engine answered every write and the projection shows them all."""
        await self._port().settle([w.ticket for w in writes])
        seq = 0
        for w in writes:
            reply = w.ticket.answer
            if w.kind != "lockstep_done" and isinstance(reply, Reply):
                seq = max(seq, decisions.last_seq(reply.seq, reply.events))
        if seq:
            await self.wait_applied(seq)

    def finish(self, write: Pending) -> dict[str, Any]:
        """A settled write's answer, as its REST call's (or its ``ApiError``)."""
        spend, write.spend = write.spend, None
        if spend is None:  # lockstep_done: no budget, as on REST
            try:
                tick = answer(write.ticket).seq
            except EngineUnavailable as exc:
                raise ApiError(exc.code, str(exc)) from None
            assert isinstance(write.made, TeamState)
            mode = self.projection.clock_mode
            return {"tick_number": tick, "clock_mode": mode, "team_id": write.made.team_id}
        with spend:
            try:
                events = answer(write.ticket).events
            except EngineUnavailable as exc:
                raise _unavailable(exc) from None
            return self._answer(write.kind, events, spend, write.made)

    def abandon(self, write: Pending) -> None:
        """A write whose answer will not be made (its client went): waste, as on REST."""
        spend, write.spend = write.spend, None
        if spend is not None:
            spend.__exit__(trio.Cancelled, None, None)

    # ------------------------------------------------------------------ reads

    async def events(self, team: TeamState, after: int, limit: int) -> tuple[list[bytes], int]:
        try:
            try:
                page = self.streams.page(team.team_id, after, limit)
            except SnapshotRequired:
                old = await self.old_messages(team.team_id, after, limit)
                page = [stream_frame(seq, body) for seq, body in old]
        except SnapshotRequired as exc:
            raise ApiError(
                "SNAPSHOT_REQUIRED",
                "history after after_seq is no longer kept: take a snapshot (GET /positions, "
                "GET /orders) or reconnect the WebSocket without last_seq",
                {"oldest_seq": exc.oldest, "reason": "snapshot_required"},
            ) from None
        return page, self.streams.head(team.team_id)

    async def old_messages(self, team_id: str, after_seq: int, limit: int) -> list[Message]:
        """Messages after ``after_seq``, older than ``streams`` keeps, from the archive:
        up to ``limit``, and up to the team's head now. ``SnapshotRequired`` when the
        archive is switched off (``[gateway] archive = false``)."""
        if self.archive is None:
            raise SnapshotRequired(self.streams.stream(team_id).first)
        p = self.projection
        return await self.archive.page(
            team_id, after_seq, limit, p.applied_seq, self.streams.head(team_id)
        )

    def health(self) -> dict[str, Any]:
        p = self.projection
        return {
            "status": "ok",
            "gateway_id": self.gateway_id,
            "session_id": p.session_id,
            "applied_seq": p.applied_seq,
            "log_head_seq": max(self.source.head(), p.applied_seq),
            "lag": self.lag,
            "phase": p.phase,
            "tick_number": p.tick_number,
            "clock_mode": p.clock_mode,  # wall or lockstep
            "teams": len(p.teams),
            "ws_connections": self.streams.subscribers,
            "public_connections": self.public.connections,
            **day.state(p),  # clock, registration, trading, ended, next_phase
            "supervisor": self.supervisor(),
        }

    def render_metrics(self) -> str:
        p, s = self.projection, self.streams
        return self.metrics.render(
            {
                "tradepit_log_head_seq": ("Last seq of the log.", lambda: self.source.head()),
                "tradepit_gateway_applied_seq": ("Last seq projected.", lambda: p.applied_seq),
                "tradepit_gateway_lag_records": ("Records not yet projected.", lambda: self.lag),
                "tradepit_ws_connections": ("Connected WebSocket clients.", lambda: s.subscribers),
                "tradepit_ws_slow_disconnects_total": (
                    "Connections closed as slow consumers.",
                    lambda: s.slow_disconnects,
                ),
                "tradepit_ws_aborted_total": (
                    "WebSocket connections aborted: a write stalled slow_client_seconds.",
                    self.aborted_writes,
                ),
                "tradepit_ws_messages_sent_total": (
                    "WebSocket messages sent.",
                    lambda: self.metrics.ws_messages_sent,
                ),
                "tradepit_orders_accepted_total": ("Orders accepted.", lambda: p.orders_accepted),
                "tradepit_orders_rejected_total": ("Orders rejected.", lambda: p.orders_rejected),
                "tradepit_teams": ("Registered teams.", lambda: len(p.teams)),
                "tradepit_gateway_catch_up_records": (
                    "Records folded from this gateway's first read to the log's head.",
                    lambda: self.catch_up[0] if self.catch_up else 0,
                ),
                "tradepit_gateway_catch_up_seconds": (
                    "Seconds from this gateway's first read to the log's head.",
                    lambda: self.catch_up[1] if self.catch_up else 0,
                ),
                "tradepit_archive_folds_total": (
                    "Folds of the log from seq 1 for history older than events_history.",
                    lambda: self.metrics.archive_folds,
                ),
                "tradepit_archive_records_folded_total": (
                    "Records folded for old history (all folds).",
                    lambda: self.metrics.archive_records_folded,
                ),
                "tradepit_archive_pages_total": (
                    "Pages of old history served from the log (GET /events and /ws).",
                    lambda: self.metrics.archive_pages,
                ),
                "tradepit_archive_pages_queued": (
                    "Pages of old history asked and not yet served, by team.",
                    lambda: {
                        f'team="{team_id}"': n
                        for team_id, n in (self.archive.queued() if self.archive else {}).items()
                    },
                ),
                "tradepit_spill_bytes": (
                    "Bytes of own messages past events_history_bytes, on disk (compressed).",
                    lambda: s.spill.size if s.spill else 0,
                ),
                "tradepit_spill_blocks_read_total": (
                    "Spilled blocks read back from disk for a resume.",
                    lambda: s.spill.reads if s.spill else 0,
                ),
                "tradepit_replay_seeks_most": (
                    "The most replay seeks in this server at once, folding or waiting.",
                    lambda: self.metrics.replay_seeks_most,
                ),
                "tradepit_replay_seeks_refused_total": (
                    "Replay seeks refused (503): the folding and waiting places were taken.",
                    lambda: self.metrics.replay_seeks_refused,
                ),
                "tradepit_public_history_messages": (
                    "Public stream messages kept for /ws/public?last_seq.",
                    lambda: self.public.history_messages,
                ),
                "tradepit_public_history_bytes": (
                    "Their bytes, within public_history_bytes.",
                    lambda: self.public.history_bytes,
                ),
                "tradepit_gc_frozen_objects": (
                    "Objects of the process's start-up, left out of garbage collections.",
                    gc.get_freeze_count,
                ),
                "tradepit_gc_collections_total": (
                    "Garbage collections, by generation (2 walks everything not frozen).",
                    heap.collections,
                ),
                "tradepit_gc_longest_pause_seconds": (
                    "The longest garbage collection since start-up: no request moves in it.",
                    heap.longest_pause,
                ),
            }
        )

    # ------------------------------------------------------------------ streams

    def open_stream(
        self, team: TeamState, last_seq: int | None
    ) -> tuple[bytes | None, Subscription]:
        """The first frame to send (a snapshot, or none) and the subscription after it.

        A team's first connection to this gateway replays its stream from seq 1 (which
        begins with its registration snapshot) while that stream is still short, so a new
        bot sees 1, 2, 3, ... Later fresh connections get a snapshot at the head.
        Synchronous on purpose: the snapshot and the subscription are taken at one seq.
        """
        team_id = team.team_id
        first_time = not self._connected_before.get(team_id, False)
        self._connected_before[team_id] = True
        head = self.streams.head(team_id)
        if last_seq is not None:
            return None, self.streams.subscribe(team_id, last_seq)
        if first_time and head <= self.settings.events_page_max and self._kept_from_start(team):
            return None, self.streams.subscribe(team_id, 0)
        # stamped with the last record folded: the snapshot reflects the log up to there
        now = iso_timestamp(self.projection.last_ts)
        snapshot = stream_frame(
            head, encode_body("position_snapshot", now, self.projection.snapshot(team_id))
        )
        return snapshot, self.streams.subscribe(team_id, head)

    def _kept_from_start(self, team: TeamState) -> bool:
        return self.streams.stream(team.team_id).first == 1


class Pending:
    """A write begun (``Gateway.begin``): its engine ticket and its budget until answered."""

    __slots__ = ("kind", "made", "spend", "ticket")

    def __init__(
        self, kind: str, ticket: Ticket, spend: Spend | None, made: Command | TeamState
    ) -> None:
        self.kind = kind
        self.ticket = ticket
        self.spend = spend
        self.made = made  # the command (a cancel's answer names its order), or the team


def _unavailable(exc: EngineUnavailable) -> ApiError:
    details: dict[str, Any] = {}
    if exc.retry_after is not None:
        details["retry_after"] = exc.retry_after
    return ApiError(exc.code, str(exc), details)


def _quoted(events: list[AnyRecord], spend: Spend) -> dict[str, Any]:
    data = decisions.quote(events)
    spend.useful()
    return data


def _cancelled(events: list[AnyRecord], spend: Spend, command: CancelOrder) -> dict[str, Any]:
    data = decisions.cancelled(events)
    if not data["cancelled"]:
        raise ApiError("ORDER_NOT_FOUND", f"no open order {command.order_id!r}")
    spend.useful()
    return data["cancelled"][0]  # type: ignore[no-any-return]


def _all_cancelled(events: list[AnyRecord], spend: Spend) -> dict[str, Any]:
    data = decisions.cancelled(events)
    if data["count"]:  # cancelling nothing is a command in the log all the same
        spend.useful()
    return data
