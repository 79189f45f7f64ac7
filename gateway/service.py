"""The gateway's one object: follows the log into the projection and streams, sends
commands to the engine, and answers with the engine's decision once the projection
has caught up with it (read-your-writes). HTTP and WebSocket layers are thin over it.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import secrets
from typing import Any, Protocol

import msgspec
import trio

from engine.client import EngineUnavailable
from engine.config import Config
from engine.records import CancelOrder, Command
from engine.wire import Reply
from gateway import decisions, validate
from gateway.budget import Budget
from gateway.errors import ApiError
from gateway.messages import encode_body, frame, iso_timestamp
from gateway.metrics import Metrics
from gateway.projection import Projection
from gateway.replay import ReplayControl
from gateway.source import RecordSource
from gateway.state import TeamState
from gateway.streams import SnapshotRequired, Streams, Subscription

#: How long a write waits for the projection to show it before answering anyway.
CATCH_UP_SECONDS = 10.0


class Engine(Protocol):
    async def request(self, command: Command) -> Reply: ...


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class Gateway:
    def __init__(self, config: Config, engine: Engine, source: RecordSource) -> None:
        self.config = config
        self.settings = config.gateway
        self.engine = engine
        self.source = source
        self.projection = Projection(config)
        self.streams = Streams(self.settings.events_history, self.settings.ws_queue_size)
        self.metrics = Metrics()
        self.budget = Budget(
            config.roles, self.settings.budget_burst_seconds, self.settings.max_writes_in_flight
        )
        self._waiters: list[tuple[int, int, trio.Event]] = []
        self._tiebreak = itertools.count()
        self._connected_before: dict[str, bool] = {}
        self.caught_up = trio.Event()  # set once the projection reached the log's head
        self.replay: ReplayControl | None = None  # set when serving a recorded session

    # ------------------------------------------------------------------ the log

    async def follow(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Fold the log into the projection and the streams, forever."""
        task_status.started()
        projection, streams = self.projection, self.streams
        folded = 0
        async for record in self.source.follow(projection.applied_seq + 1):
            streams.publish(projection.step(record))
            folded += 1
            if folded % 512 == 0:
                await trio.lowlevel.checkpoint()  # a long replay must not starve the senders
            if not self.caught_up.is_set() and projection.applied_seq >= self.source.head():
                self.caught_up.set()
            waiters = self._waiters
            while waiters and waiters[0][0] <= projection.applied_seq:
                heapq.heappop(waiters)[2].set()

    async def wait_applied(self, seq: int) -> None:
        if self.projection.applied_seq >= seq:
            return
        self.source.nudge()  # the engine answered, so ``seq`` is in the log already
        done = trio.Event()
        heapq.heappush(self._waiters, (seq, next(self._tiebreak), done))
        with trio.move_on_after(CATCH_UP_SECONDS):
            await done.wait()

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
        return {"seq": reply.seq, "applied": [msgspec.structs.asdict(e) for e in reply.events][:50]}

    def own_team(self, team: TeamState, team_id: str) -> TeamState:
        if team_id != team.team_id:
            if self.projection.team(team_id) is None:
                raise ApiError("TEAM_NOT_FOUND", f"no team {team_id!r}")
            raise ApiError("FORBIDDEN", "another team's resource")
        return team

    # ------------------------------------------------------------------ writes

    async def _send(self, command: Command) -> Reply:
        try:
            reply = await self.engine.request(command)
        except EngineUnavailable as exc:
            details: dict[str, Any] = {}
            if exc.retry_after is not None:
                details["retry_after"] = exc.retry_after
            raise ApiError(exc.code, str(exc), details) from None
        await self.wait_applied(decisions.last_seq(reply.seq, reply.events))
        return reply

    async def register(self, body: bytes) -> dict[str, Any]:
        api_key = secrets.token_urlsafe(32)
        command = validate.registration(body, hash_key(api_key))
        reply = await self._send(command)
        data = decisions.registered(reply.events)
        return {**data, "api_key": api_key}

    async def submit_order(self, team: TeamState, body: bytes) -> dict[str, Any]:
        p = self.projection
        with self.budget.write(team.team_id, team.role) as spend:
            command = validate.order(body, team.team_id, p.config, p.instruments)
            reply = await self._send(command)
            data = decisions.order(reply.events)
            if data["duplicate"]:  # a repeated client_order_id: answer with the original now
                original = p.orders.get(data["order_id"])
                data["status"] = original.view()["status"] if original else "closed"
            else:
                spend.useful()
        return data

    async def submit_quote(self, team: TeamState, body: bytes) -> dict[str, Any]:
        p = self.projection
        with self.budget.write(team.team_id, team.role) as spend:
            command = validate.quote(body, team.team_id, p.config, p.instruments)
            data = decisions.quote((await self._send(command)).events)
            spend.useful()
        return data

    async def cancel(self, team: TeamState, order_id: str) -> dict[str, Any]:
        with self.budget.write(team.team_id, team.role) as spend:
            command = CancelOrder(team_id=team.team_id, order_id=validate.order_id(order_id))
            data = decisions.cancelled((await self._send(command)).events)
            if not data["cancelled"]:
                raise ApiError("ORDER_NOT_FOUND", f"no open order {order_id!r}")
            spend.useful()
        return data["cancelled"][0]  # type: ignore[no-any-return]

    async def cancel_all(self, team: TeamState, instrument_id: str | None) -> dict[str, Any]:
        with self.budget.write(team.team_id, team.role) as spend:
            command = validate.cancel_all(team.team_id, instrument_id, self.projection.instruments)
            data = decisions.cancelled((await self._send(command)).events)
            if data["count"]:  # cancelling nothing is a command in the log all the same
                spend.useful()
        return data

    # ------------------------------------------------------------------ reads

    def events(self, team: TeamState, args: dict[str, str]) -> tuple[list[bytes], int]:
        after, limit = validate.page_args(args, self.settings.events_page_max)
        try:
            page = self.streams.page(team.team_id, after, limit)
        except SnapshotRequired as exc:
            raise ApiError(
                "SNAPSHOT_REQUIRED",
                "history after after_seq is no longer kept: take a snapshot (GET /positions, "
                "GET /orders) or reconnect the WebSocket without last_seq",
                {"oldest_seq": exc.oldest, "reason": "snapshot_required"},
            ) from None
        return page, self.streams.head(team.team_id)

    def health(self) -> dict[str, Any]:
        p = self.projection
        return {
            "status": "ok",
            "session_id": p.session_id,
            "applied_seq": p.applied_seq,
            "log_head_seq": max(self.source.head(), p.applied_seq),
            "lag": self.lag,
            "phase": p.phase,
            "tick_number": p.tick_number,
            "teams": len(p.teams),
            "ws_connections": self.streams.subscribers,
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
                "tradepit_ws_messages_sent_total": (
                    "WebSocket messages sent.",
                    lambda: self.metrics.ws_messages_sent,
                ),
                "tradepit_orders_accepted_total": ("Orders accepted.", lambda: p.orders_accepted),
                "tradepit_orders_rejected_total": ("Orders rejected.", lambda: p.orders_rejected),
                "tradepit_teams": ("Registered teams.", lambda: len(p.teams)),
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
        snapshot = frame(
            head, encode_body("position_snapshot", now, self.projection.snapshot(team_id))
        )
        return snapshot, self.streams.subscribe(team_id, head)

    def _kept_from_start(self, team: TeamState) -> bool:
        return self.streams.stream(team.team_id).first == 1
