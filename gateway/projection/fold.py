"""The gateway is a projection: a pure fold from log records to per-team messages.

Theory of operation
-------------------
docs/architecture.md, The contract, rule 4: a pure function from log records to
(audience, message) pairs, with a counter per team: the team's seq. Any gateway that
reads the same log computes the same messages with the same seqs, so a bot can
reconnect to any gateway and resume.

``Projection.apply(record)`` folds one record into the state (teams, positions, cash,
fees, open orders, aggregated books, last trades, marks) and returns the messages it
causes, each addressed to an ``Audience``: one team, every team, or the teams of one
role. ``Projection.step(record)`` then resolves audiences to teams in registration
order and numbers each team's messages 1, 2, 3, ... (``stream_head``).

A broadcast (every team, or a role) must cost a team nothing: with 5000 idle teams,
one delivery object per team per market_data was the gateway's whole CPU and memory.
So ``fold(record)`` numbers only the messages addressed to one team and returns each
broadcast once (``Broadcast``), counting broadcasts per role; a team's head is its own
messages plus its role's broadcasts since it joined. ``step`` expands them per team.

A team's stream starts at its registration: ``TeamRegistered`` is the team's message
seq 1, a ``position_snapshot`` of its empty state. So a new team's first snapshot is
seq 1 and the seed's ``SequenceTracker`` sees no false gap. Rejections produce no
message (the REST answer carries them; docs/protocol.md, Error codes: "refusals never
appear on the WebSocket"). No I/O, no clock, no set iteration: time comes from the
record's ``ts``, order from the log.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import msgspec

from engine import config as configmod
from engine import instruments as instrumentsmod
from engine.money import to_dollars
from engine.order_types import RESTING, order_status
from engine.records import (
    AdminApplied,
    AnyRecord,
    CompetitionEnded,
    EngineStarted,
    ForkSession,
    MarketData,
    News,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    PhaseChanged,
    StartSession,
    TeamRegistered,
    TickStarted,
    TrackingSignal,
    Trade,
    UnderlyingPrices,
    VolatilitySignal,
)
from gateway import scoring
from gateway.projection.entities import DepthBook, OpenOrder, TeamState
from gateway.projection.messages import StreamMessage, iso_timestamp
from gateway.projection.views import Views

# Structs rather than frozen dataclasses: as immutable and comparable, and made in a
# quarter of the time (a frozen dataclass sets each field through object.__setattr__),
# which a catch-up does once per message


class Team(msgspec.Struct, frozen=True):
    team_id: str


class AllTeams(msgspec.Struct, frozen=True):
    pass


class Role(msgspec.Struct, frozen=True):
    role: str


Audience = Team | AllTeams | Role
ALL = AllTeams()


class Delivery(msgspec.Struct, frozen=True):
    """Message ``seq`` of ``team_id``'s stream; ``body`` is shared with other recipients."""

    team_id: str
    seq: int
    body: bytes
    role: str = ""  # the team's role: which broadcasts its stream interleaves


class Broadcast(msgspec.Struct, frozen=True):
    """The next message of every streaming team of ``role`` (of every team if None)."""

    role: str | None
    body: bytes


class Projection(Views):
    def __init__(self, config: configmod.Config | None = None) -> None:
        self._configure(config or configmod.Config())
        self.session_id: str | None = None
        self.fork: ForkSession | None = None  # the fork record, when the session is a fork
        self.clock_mode = "wall"  # "lockstep": POST /lockstep/done moves the session on
        self.expiry: datetime.date | None = None  # known from the StartSession record
        self.applied_seq = 0
        self.last_ts = 0
        self.phase = "closed"
        self.tick_number = 0
        self.teams: dict[str, TeamState] = {}
        # as the core decides registrations: open or closed (``registered_teams`` counts)
        self.registration_open = True
        # the admin switches of the day, as the core holds them (``/health`` shows them)
        self.clock_running = True
        self.trading_halted = False
        self.final_seq = 0  # the closing bell's seq once it rang: standings stop there
        # when the clock last ticked or an engine started it: the next tick is due one
        # ``tick_seconds`` later (what ``/health``'s ``next_phase`` reckons from)
        self.clock_ts = 0
        self._by_key_hash: dict[str, TeamState] = {}
        self._streaming: list[TeamState] = []  # registration order
        self.broadcasts: dict[str, int] = {}  # role -> broadcasts to it since it streams
        self.orders: dict[str, OpenOrder] = {}
        self.books: dict[str, DepthBook] = {}
        self.last_price: dict[str, int] = {}
        self.marks: dict[str, int] = {}
        self.market: dict[str, MarketData] = {}
        self.orders_accepted = 0
        self.orders_rejected = 0
        self.scorer = scoring.Scorer(self.config)

    def _configure(self, config: configmod.Config) -> None:
        self.config = config
        self.instruments = instrumentsmod.build(config)
        self.headlines = {h.text: h for h in config.news.headlines}

    # ------------------------------------------------------------------ fold

    def fold(self, record: AnyRecord) -> list[Delivery | Broadcast]:
        """Fold one record; a team's own messages numbered, each broadcast once."""
        # ``_fold(record, expand=False)`` written out: a catch-up calls it a million
        # times, and most records cause no message at all
        messages = self.apply(record)
        if not messages:
            return []
        out: list[Delivery | Broadcast] = []
        counts, teams = self.broadcasts, self.teams
        for audience, message in messages:
            if type(audience) is Team:
                team = teams.get(audience.team_id)
                if team is not None and team.api_key_hash:  # it streams
                    team.own += 1
                    out.append(Delivery(team.team_id, self.head_of(team), message.body, team.role))
                continue
            role = audience.role if type(audience) is Role else None
            if role is not None:
                if role not in counts:
                    continue  # no team of that role streams
                counts[role] += 1
            elif counts:
                for name in counts:
                    counts[name] += 1
            else:
                continue
            out.append(Broadcast(role, message.body))
        return out

    def step(self, record: AnyRecord) -> list[Delivery]:
        """Fold one record; its messages numbered in each recipient's stream."""
        return self._fold(record, expand=True)  # type: ignore[return-value]

    def _fold(self, record: AnyRecord, expand: bool) -> list[Delivery | Broadcast]:
        out: list[Delivery | Broadcast] = []
        counts = self.broadcasts
        for audience, message in self.apply(record):
            if isinstance(audience, Team):
                team = self.teams.get(audience.team_id)
                if team is not None and team.streams:
                    team.own += 1
                    out.append(Delivery(team.team_id, self.head_of(team), message.body, team.role))
                continue
            role = audience.role if isinstance(audience, Role) else None
            if role is not None:
                if role not in counts:
                    continue  # no team of that role streams
                counts[role] += 1
            elif counts:
                for name in counts:
                    counts[name] += 1
            else:
                continue
            if not expand:
                out.append(Broadcast(role, message.body))
                continue
            for team in self._streaming:
                if role is None or team.role == role:
                    out.append(Delivery(team.team_id, self.head_of(team), message.body, team.role))
        return out

    def apply(self, record: AnyRecord) -> list[tuple[Audience, StreamMessage]]:
        """Fold one record into the state; the messages it causes, by audience."""
        seq = record.seq
        if seq:
            if seq <= self.applied_seq:
                return []  # already folded (a reader restarted behind us)
            self.applied_seq = seq
        self.last_ts = record.ts
        if self.final_seq:  # after the bell the standings stay as they were at it
            handler = _HANDLERS.get(type(record))
            return handler(self, record) if handler is not None else []
        if self.scorer.apply(record):  # a tick sample: only UnderlyingPrices
            assert isinstance(record, UnderlyingPrices)
            self._underlying_prices(record)
            return self._score_updates(iso_timestamp(record.ts))
        # one dict lookup by type rather than a ``match`` trying each class in turn: a
        # catch-up folds a million records, three in four of them the simulated teams'
        # orders and cancels, and each handler formats the timestamp only for a message
        handler = _HANDLERS.get(type(record))
        return handler(self, record) if handler is not None else []

    def _start(self, record: StartSession) -> list[tuple[Audience, StreamMessage]]:
        self.session_id = record.session_id
        self._configure(configmod.from_json(record.config))
        self.registration_open = self.config.teams.registration_open
        self.expiry = instrumentsmod.expiry_date(self.config, record.ts)
        self.clock_mode = self.config.schedule.clock
        return []

    def _forked(self, record: ForkSession) -> list[tuple[Audience, StreamMessage]]:
        """The session goes on as a fork; a taken-over team answers to its new key only."""
        self.session_id = record.session_id
        self.fork = record
        self.clock_mode = record.clock
        team = self.teams.get(record.takeover_team_id or "")
        if team is not None and record.takeover_key_hash:
            self._by_key_hash.pop(team.api_key_hash, None)
            team.api_key_hash = record.takeover_key_hash
            self._by_key_hash[team.api_key_hash] = team
        return []

    def _rejected(self, record: OrderRejected) -> list[tuple[Audience, StreamMessage]]:
        if record.command in ("submit_order", "submit_quote", ""):
            self.orders_rejected += 1
        team = self.teams.get(record.team_id) if record.team_id else None
        if team is not None:
            team.refusals.append(
                {
                    "seq": record.seq,
                    "timestamp": iso_timestamp(record.ts),
                    "tick_number": self.tick_number,
                    "code": record.code,
                    "message": record.message,
                    "command": record.command,
                    "instrument_id": record.instrument_id,
                    "order_id": record.order_id,
                    "client_order_id": record.client_order_id,
                }
            )
        return []

    def _phase_changed(self, record: PhaseChanged) -> list[tuple[Audience, StreamMessage]]:
        self.phase = record.phase
        data = {"event_type": "phase_changed", "phase": record.phase, "previous": record.previous}
        return [(ALL, StreamMessage("event", iso_timestamp(record.ts), data))]

    def _engine_started(self, record: EngineStarted) -> list[tuple[Audience, StreamMessage]]:
        self.clock_ts = record.ts
        return []

    def _tick_started(self, record: TickStarted) -> list[tuple[Audience, StreamMessage]]:
        self.clock_ts = record.ts
        self.tick_number = record.tick_number
        self.phase = record.phase
        tick = {"tick_number": record.tick_number, "phase": record.phase}
        return [(ALL, StreamMessage("tick_start", iso_timestamp(record.ts), tick))]

    def _prices(self, record: UnderlyingPrices) -> list[tuple[Audience, StreamMessage]]:
        self._underlying_prices(record)
        return []

    def _news_message(self, record: News) -> list[tuple[Audience, StreamMessage]]:
        return [(ALL, StreamMessage("event", iso_timestamp(record.ts), self._news(record)))]

    def _volatility_signal(self, r: VolatilitySignal) -> list[tuple[Audience, StreamMessage]]:
        data = _volatility(r, self.config.schedule.sim_seconds_per_tick)
        return [(Role("hedge_fund"), StreamMessage("signal", iso_timestamp(r.ts), data))]

    def _tracking_signal(self, r: TrackingSignal) -> list[tuple[Audience, StreamMessage]]:
        return [(Role("arbitrage"), StreamMessage("signal", iso_timestamp(r.ts), _tracking(r)))]

    def _admin(self, record: AdminApplied) -> list[tuple[Audience, StreamMessage]]:
        if record.action == "disable_team" and record.team_id in self.teams:
            self.teams[record.team_id].disabled = True
        elif record.action == "enable_team" and record.team_id in self.teams:
            self.teams[record.team_id].disabled = False
        elif record.action == "set_registration":
            self.registration_open = record.value == "true"
        elif record.action == "set_clock":
            self.clock_running = record.value == "true"
        elif record.action == "set_trading":
            self.trading_halted = record.value == "true"
            # every bot hears of it: a halt refuses its orders until the resume
            kind = "trading_halted" if self.trading_halted else "trading_resumed"
            return [(ALL, StreamMessage("event", iso_timestamp(record.ts), {"event_type": kind}))]
        return []

    def _ended(self, record: CompetitionEnded) -> list[tuple[Audience, StreamMessage]]:
        self.final_seq = record.final_seq
        self.clock_running = False
        data = {"event_type": "competition_ended", "final_seq": record.final_seq}
        return [(ALL, StreamMessage("event", iso_timestamp(record.ts), data))]

    @property
    def registered_teams(self) -> int:
        """Teams registered with a key (the simulated ones not counted), as the core counts."""
        return len(self._streaming)

    def _underlying_prices(self, r: UnderlyingPrices) -> None:
        self.marks["SPX"] = r.spx
        self.marks["SPY"] = r.spy
        self.marks.update(r.fair)  # every instrument at this tick's fair value, as scoring

    def _score_updates(self, ts: str) -> list[tuple[Audience, StreamMessage]]:
        """Each team's own figures once per tick (the scorer just took its tick sample)."""
        scorer = self.scorer
        ranks = scoring.ranks(scorer)
        return [
            (
                Team(team_id),
                StreamMessage("score_update", ts, scoring.update(scorer, team, ranks[team_id])),
            )
            for team_id, team in scorer.teams.items()
        ]

    def _team(self, team_id: str) -> TeamState:
        """A team met in a trade before (or without) its registration: a simulated one."""
        team = self.teams.get(team_id)
        if team is None:
            team = self.teams[team_id] = TeamState(team_id, team_id, "simulated", "", 0)
        return team

    def _registered(self, r: TeamRegistered) -> list[tuple[Audience, StreamMessage]]:
        team = TeamState(r.team_id, r.team_name, r.role, r.api_key_hash, r.ts)
        self.teams[r.team_id] = team
        if not team.streams:
            return []
        self._by_key_hash[r.api_key_hash] = team
        self._streaming.append(team)
        team.base = self.broadcasts.setdefault(team.role, 0)
        ts = iso_timestamp(r.ts)
        return [(Team(r.team_id), StreamMessage("position_snapshot", ts, self.snapshot(r.team_id)))]

    def _accepted(self, r: OrderAccepted) -> list[tuple[Audience, StreamMessage]]:
        if r.duplicate:
            return []  # restates the live original: nothing new happened
        self.orders_accepted += 1
        order = OpenOrder(
            r.order_id,
            r.team_id,
            r.instrument_id,
            r.side,
            r.order_type,
            r.quantity,
            r.quantity,
            r.price,
            r.client_order_id,
            r.quote,
            r.ts,
        )
        self.orders[r.order_id] = order
        team = self.teams.get(r.team_id) or self._team(r.team_id)
        team.orders[r.order_id] = order
        if r.price is not None and r.order_type in RESTING:
            book = self.books.get(r.instrument_id) or self._book(r.instrument_id)
            book.add(r.side, r.price, r.quantity)
        if not team.api_key_hash:  # a simulated team's: ``fold`` would drop the message
            return []
        data = {
            "order_id": r.order_id,
            "client_order_id": r.client_order_id,
            "instrument_id": r.instrument_id,
            "side": r.side,
            "order_type": r.order_type,
            "quantity": r.quantity,
            "price": to_dollars(r.price),
            "status": "new",
            "quote": r.quote,
        }
        return [(Team(r.team_id), StreamMessage("new_order_ack", iso_timestamp(r.ts), data))]

    def _trade(self, r: Trade) -> list[tuple[Audience, StreamMessage]]:
        self.last_price[r.instrument_id] = r.price
        inst = self.instruments.get(r.instrument_id)
        multiplier = inst.multiplier if inst is not None else 1
        taker_side = "sell" if r.maker_side == "buy" else "buy"
        sides = (
            (r.maker_team_id, r.maker_order_id, r.maker_side, r.maker_fee, r.maker_remaining,
             "maker", r.maker_client_order_id),
            (r.taker_team_id, r.taker_order_id, taker_side, r.taker_fee, r.taker_remaining,
             "taker", r.taker_client_order_id),
        )  # fmt: skip
        out: list[tuple[Audience, StreamMessage]] = []
        for team_id, order_id, side, fee, remaining, liquidity, client_order_id in sides:
            team = self._team(team_id)
            signed = r.quantity if side == "buy" else -r.quantity
            # a flat position stays, at 0: the reference lists previously traded instruments
            team.positions[r.instrument_id] = team.positions.get(r.instrument_id, 0) + signed
            team.cash += fee - signed * r.price * multiplier
            team.fees += fee
            team.trades += 1
            team.volume += r.quantity
            order = self.orders.get(order_id)
            if order is not None:
                client_order_id = client_order_id or order.client_order_id
                if order.price is not None and order.order_type in RESTING:
                    self._book(order.instrument_id).reduce(
                        order.side, order.price, r.quantity, gone=remaining == 0
                    )
                order.remaining = remaining
                if remaining == 0:
                    self._forget(order)
            if team.streams:
                data = {
                    "order_id": order_id,
                    "client_order_id": client_order_id,
                    "trade_id": r.trade_id,
                    "instrument_id": r.instrument_id,
                    "side": side,
                    "executed_quantity": r.quantity,
                    "executed_price": to_dollars(r.price),
                    "remaining_quantity": remaining,
                    "order_status": order_status(r.quantity, remaining, 0),
                    "liquidity_type": liquidity,
                    "fees": to_dollars(fee),
                }
                if r.self_trade:  # only then: every other fill's bytes stay as recorded
                    data["self_trade"] = True
                message = StreamMessage("execution_report", iso_timestamp(r.ts), data)
                out.append((Team(team_id), message))
        return out

    def _cancelled(self, r: OrderCancelled) -> list[tuple[Audience, StreamMessage]]:
        order = self.orders.get(r.order_id)
        client_order_id = r.client_order_id
        if order is not None:
            client_order_id = client_order_id or order.client_order_id
            if order.price is not None and order.order_type in RESTING:
                book = self.books.get(order.instrument_id) or self._book(order.instrument_id)
                book.reduce(order.side, order.price, order.remaining, gone=True)
            del self.orders[r.order_id]
            owner = self.teams.get(order.team_id)
            if owner is not None:
                owner.orders.pop(order.order_id, None)
        team = self.teams.get(r.team_id)
        if team is None or not team.api_key_hash:  # a simulated team's: ``fold`` drops it
            return []
        data = {
            "order_id": r.order_id,
            "client_order_id": client_order_id,
            "instrument_id": r.instrument_id,
            "side": r.side,
            "cancelled_quantity": r.cancelled_quantity,
            "reason": r.reason,
            "status": "cancelled",  # the reference's field
        }
        return [(Team(r.team_id), StreamMessage("order_cancelled", iso_timestamp(r.ts), data))]

    def _market_data(self, r: MarketData) -> list[tuple[Audience, StreamMessage]]:
        self.market[r.instrument_id] = r
        if r.fair is not None:
            self.marks[r.instrument_id] = r.fair
        data = {
            "instrument_id": r.instrument_id,
            "bid": to_dollars(r.bid),
            "ask": to_dollars(r.ask),
            "last": to_dollars(r.last),
            "bid_size": r.bid_size,
            "ask_size": r.ask_size,
        }
        if r.fair is not None:  # the mark of rules.md; a log recorded without it keeps its bytes
            data["fair"] = to_dollars(r.fair)
        return [(ALL, StreamMessage("market_data", iso_timestamp(r.ts), data))]

    def _news(self, r: News) -> dict[str, Any]:
        # the headline and its published odds; the drawn effect stays hidden
        headline = self.headlines.get(r.headline)
        shift = headline.regime_shift if headline else None
        jump = headline.jump if headline else None
        return {
            "event_type": "news",
            "headline": r.headline,
            "impact": _impact(shift, jump),
            "tick_number": r.tick_number,
            "regime_shift_probability": shift,
            "price_jump_probability": jump,
        }

    def _book(self, instrument_id: str) -> DepthBook:
        book = self.books.get(instrument_id)
        if book is None:
            book = self.books[instrument_id] = DepthBook()
        return book

    def _forget(self, order: OpenOrder) -> None:
        self.orders.pop(order.order_id, None)
        team = self.teams.get(order.team_id)
        if team is not None:
            team.orders.pop(order.order_id, None)


#: ``Projection.apply``'s handler of each record type (records without one change nothing).
_HANDLERS: dict[type, Callable[[Projection, Any], list[tuple[Audience, StreamMessage]]]] = {
    StartSession: Projection._start,
    ForkSession: Projection._forked,
    TeamRegistered: Projection._registered,
    OrderAccepted: Projection._accepted,
    OrderRejected: Projection._rejected,
    Trade: Projection._trade,
    OrderCancelled: Projection._cancelled,
    PhaseChanged: Projection._phase_changed,
    TickStarted: Projection._tick_started,
    UnderlyingPrices: Projection._prices,
    MarketData: Projection._market_data,
    News: Projection._news_message,
    VolatilitySignal: Projection._volatility_signal,
    TrackingSignal: Projection._tracking_signal,
    AdminApplied: Projection._admin,
    CompetitionEnded: Projection._ended,
    EngineStarted: Projection._engine_started,
}


def _volatility(r: VolatilitySignal, sim_seconds_per_tick: float) -> dict[str, Any]:
    return {
        "signal_type": "volatility_forecast",
        "forecast": r.forecast,
        "confidence": r.confidence,
        "current_regime": r.current_regime,
        "ticks_until_change": r.ticks_until_change,
        # the reference's field: the same lead in minutes of market time
        "horizon_minutes": round(r.ticks_until_change * sim_seconds_per_tick / 60, 3),
        "tick_number": r.tick_number,
    }


def _impact(shift: float | None, jump: float | None) -> str:
    """The reference's ``impact`` label, from the headline's published odds."""
    odds = max(shift or 0.0, jump or 0.0)
    return "high" if odds >= 0.5 else "medium" if odds >= 0.2 else "low"


def _tracking(r: TrackingSignal) -> dict[str, Any]:
    return {
        "signal_type": "tracking_error",
        "tracking_error": r.tracking_error_bps / 100,  # percent
        "tracking_error_bps": r.tracking_error_bps,
        "direction": r.direction,
        "z_score": r.z_score,
        "spx_price": to_dollars(r.spx_price),
        "spy_price": to_dollars(r.spy_price),
        "theoretical_spy": to_dollars(r.theoretical_spy),
        "tick_number": r.tick_number,
    }
