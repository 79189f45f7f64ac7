"""The pure exchange core: ``Exchange.apply(command) -> events``.

Theory of operation
-------------------
A deterministic state machine (ARCHITECTURE rule 1). No sockets, files, clock,
threads or global randomness: time is the command's ``ts``, randomness is the
market's RNG seeded from the session record, and ids are counters. Events get the
seqs after their command's (``command.seq + 1, + 2, ...``) and the command's ``ts``.

Matching (SPEC "Matching"): price-time priority, partial fills, trades at the resting
(maker) order's price; a market order never rests (its unfilled rest is cancelled
``no_liquidity``); self-trade is allowed and fees still apply. Phases gate what is
allowed: submit and cancel in pre_open and continuous, matching only in continuous,
one uncross on entering the opening auction, every resting order cancelled at close.

Idempotency: a ``client_order_id`` is remembered for as long as its order is live; a
repeat from the same team meanwhile is answered with the original order
(``OrderAccepted(duplicate=True)``) and no new order. Once the order is filled or
cancelled, the id may be used again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from engine import rules
from engine.accounts import Account
from engine.auction import clearing_price
from engine.book import Book
from engine.config import Config
from engine.instruments import Instrument, build
from engine.market import MarketView, SimOrder, SimQuote, TickOutput
from engine.orders import Order
from engine.records import (
    PHASES,
    ROLES,
    AdminApplied,
    CancelAll,
    CancelOrder,
    ChangePhase,
    ClockTick,
    Command,
    DisableTeam,
    Event,
    MarketData,
    News,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    PhaseChanged,
    RegisterTeam,
    SetClock,
    SetHouse,
    StartSession,
    SubmitOrder,
    SubmitQuote,
    TeamRegistered,
    TickStarted,
    TrackingSignal,
    Trade,
    UnderlyingPrices,
    VolatilitySignal,
)
from engine.rules import Refusal


class MarketLike(Protocol):
    """What the core needs of the simulation (``engine.market.simulator.Market``)."""

    def teams(self) -> tuple[Any, ...]: ...
    def fair(self) -> dict[str, int]: ...
    def on_tick(self, tick_number: int, phase: str, view: MarketView) -> TickOutput: ...


MarketFactory = Callable[[Config, int, dict[str, Instrument]], MarketLike]


def default_market(config: Config, seed: int, instruments: dict[str, Instrument]) -> MarketLike:
    from engine.market.simulator import Market

    market: MarketLike = Market(config, seed, instruments)
    return market


class Exchange:
    def __init__(
        self, config: Config, seed: int, session_id: str = "", market: MarketFactory | None = None
    ) -> None:
        self.config = config
        self.seed = seed
        self.session_id = session_id
        self.instruments = build(config)
        self.books = {iid: Book(iid) for iid in self.instruments}
        self.teams: dict[str, Account] = {}
        self.names: dict[str, str] = {}  # casefolded name -> team id
        self.orders: dict[str, Order] = {}  # every live order, in submission order
        self.client_ids: dict[tuple[str, str], str] = {}
        self.quotes: dict[tuple[str, str], tuple[str, str]] = {}
        self.phase = "closed"
        self.tick_number = 0
        self.house_enabled = True  # admin switch; the config decides whether a house exists
        self.clock_running = True  # admin switch read by the shell's clock
        self.counters = [0, 0, 0]  # teams, orders, trades
        self.limiter = rules.RateLimiter()
        self.market = (market or default_market)(config, seed, self.instruments)
        self.fair: dict[str, int] = dict(self.market.fair())
        self.published: dict[str, tuple[int | None, int | None, int | None, int, int]] = {}
        self._events: list[Event] = []
        self._seq = 0
        self._ts = 0

    # ------------------------------------------------------------------ apply

    def apply(self, command: Command) -> list[Event]:
        self._events = []
        self._seq = command.seq
        self._ts = command.ts
        match command:
            case SubmitOrder():
                self._submit(command)
            case CancelOrder():
                self._cancel(command)
            case SubmitQuote():
                self._quote(command)
            case CancelAll():
                self._cancel_all(command)
            case ClockTick():
                self._tick()
            case ChangePhase():
                self._change_phase(command.phase)
            case RegisterTeam():
                self._register(command)
            case DisableTeam() | SetHouse() | SetClock():
                self._admin(command)
            case StartSession():
                for team in self.market.teams():
                    self._add_team(
                        team.team_name, team.role, "", team.exempt_from_limits, team.team_id
                    )
        return self._events

    def _emit(self, event: Event) -> None:
        self._events.append(event)

    def _record(self, kind: type[Event], **fields: Any) -> None:
        """Emit an event of ``kind`` with the next seq (off the hot path: kwargs cost)."""
        seq, ts = self._next()
        self._emit(kind(seq=seq, ts=ts, **fields))

    def _next(self) -> tuple[int, int]:
        """(seq, ts) for the next event."""
        return self._seq + len(self._events) + 1, self._ts

    def _refuse(self, command: Command, refusal: Refusal, **fields: Any) -> None:
        seq, ts = self._next()
        tag = type(command).__struct_config__.tag
        self._emit(
            OrderRejected(
                seq=seq,
                ts=ts,
                team_id=getattr(command, "team_id", None),
                code=refusal.code,
                message=refusal.message,
                details=refusal.details,
                command=str(tag),
                request_id=getattr(command, "request_id", None),
                **fields,
            )
        )

    # ------------------------------------------------------------------ teams

    def _register(self, c: RegisterTeam) -> None:
        name = c.team_name.strip()
        if not 3 <= len(name) <= 50 or not name.isprintable():
            self._refuse(
                c, Refusal("INVALID_TEAM_NAME", "a team name is 3-50 printable characters")
            )
        elif c.role not in ROLES:
            self._refuse(c, Refusal("INVALID_ROLE", f"role must be one of {', '.join(ROLES)}"))
        elif name.casefold() in self.names:
            self._refuse(c, Refusal("TEAM_NAME_TAKEN", f"the team name {name!r} is taken"))
        else:
            self._add_team(name, c.role, c.api_key_hash, False, None, c.request_id)

    def _add_team(
        self,
        name: str,
        role: str,
        key_hash: str,
        exempt: bool,
        team_id: str | None,
        request_id: str | None = None,
    ) -> None:
        if team_id is None:
            self.counters[0] += 1
            team_id = f"TEAM_{self.counters[0]:04d}"
        self.teams[team_id] = Account(team_id, name, role, key_hash, exempt)
        self.names[name.casefold()] = team_id
        seq, ts = self._next()
        self._emit(
            TeamRegistered(
                seq=seq,
                ts=ts,
                team_id=team_id,
                team_name=name,
                role=role,
                api_key_hash=key_hash,
                request_id=request_id,
            )
        )

    # ------------------------------------------------------------------ orders

    def _submit(self, c: SubmitOrder) -> None:
        team = self.teams.get(c.team_id)
        refusal = self._admit(c, team)
        if refusal is not None:
            self._refuse(
                c, refusal, instrument_id=c.instrument_id[:64], client_order_id=c.client_order_id
            )
            return
        assert team is not None
        if c.client_order_id is not None:
            original = self.client_ids.get((team.team_id, c.client_order_id))
            if original is not None:
                self._accepted(self.orders[original], c.request_id, duplicate=True)
                return
        if team.api_key_hash and not team.exempt:  # simulated flow has its own rate
            rule = self.config.roles[team.role]
            limited = self.limiter.check(team.team_id, rule.orders_per_second, self._ts)
            if limited is not None:
                self._refuse(
                    c, limited, instrument_id=c.instrument_id, client_order_id=c.client_order_id
                )
                return
        is_buy = c.side == "buy"
        rule = self.config.roles[team.role]
        refusal = rules.one_side_rule(rule, team, c.instrument_id, is_buy, c.order_type) or (
            rules.position_limits(rule, team, self.instruments[c.instrument_id], is_buy, c.quantity)
        )
        if refusal is not None:
            self._refuse(
                c, refusal, instrument_id=c.instrument_id, client_order_id=c.client_order_id
            )
            return
        self._place(
            team,
            c.instrument_id,
            is_buy,
            c.order_type,
            c.price,
            c.quantity,
            c.client_order_id,
            c.request_id,
        )

    def _admit(self, c: SubmitOrder, team: Account | None) -> Refusal | None:
        if team is None or team.disabled:
            return Refusal("TEAM_NOT_FOUND", f"no active team {c.team_id[:64]!r}")
        refusal = rules.phase_allows(self.phase, "submit orders") or rules.order_fields(
            self.instruments,
            self.config,
            c.instrument_id,
            c.side,
            c.quantity,
            c.order_type,
            c.price,
        )
        if refusal is not None:
            return refusal
        if c.order_type == "market" and self.phase != "continuous":
            return Refusal(
                "MARKET_CLOSED",
                "market orders trade only in continuous trading",
                {"phase": self.phase},
            )
        return rules.role_allows(self.config.roles[team.role], team.role, c.order_type, c.quantity)

    def _accepted(self, order: Order, request_id: str | None, duplicate: bool = False) -> None:
        """``OrderAccepted`` for a new order, or restating a live one (a repeated client id)."""
        seq, ts = self._next()
        self._emit(
            OrderAccepted(
                seq=seq,
                ts=ts,
                order_id=order.order_id,
                team_id=order.team_id,
                instrument_id=order.instrument_id,
                side=order.side,
                order_type=order.order_type,
                quantity=order.quantity,
                price=order.price,
                client_order_id=order.client_order_id,
                request_id=request_id,
                quote=order.quote,
                duplicate=duplicate,
            )
        )

    def _place(
        self,
        team: Account,
        instrument_id: str,
        is_buy: bool,
        order_type: str,
        price: int | None,
        quantity: int,
        client_order_id: str | None,
        request_id: str | None,
        quote: bool = False,
    ) -> Order:
        self.counters[1] += 1
        order = Order(
            f"ORD_{self.counters[1]:08d}",
            team.team_id,
            instrument_id,
            is_buy,
            order_type,
            price,
            quantity,
            self._seq,
            client_order_id,
            quote,
        )
        self._accepted(order, request_id)
        book = self.books[instrument_id]
        if self.phase == "continuous":
            self._match(order, book)
        if order.remaining == 0:
            return order
        if order_type == "market":
            self._cancelled(order, order.cancel(), "no_liquidity")
            return order
        book.side(is_buy).add(order)
        team.rest(order, order.remaining)
        team.orders[order.order_id] = order
        self.orders[order.order_id] = order
        if client_order_id is not None:
            self.client_ids[(team.team_id, client_order_id)] = order.order_id
        return order

    def _match(self, taker: Order, book: Book) -> None:
        opposite = book.opposite(taker.is_buy)
        limit = taker.price
        while taker.remaining and opposite.prices:
            best = opposite.best()
            assert best is not None
            if limit is not None and (best > limit if taker.is_buy else best < limit):
                break
            for maker in list(opposite.levels[best].values()):
                self._trade(maker, taker, best, min(taker.remaining, maker.remaining), book)
                if not taker.remaining:
                    break

    def _trade(self, maker: Order, taker: Order, price: int, quantity: int, book: Book) -> None:
        maker_team, taker_team = self.teams[maker.team_id], self.teams[taker.team_id]
        multiplier = self.instruments[book.instrument_id].multiplier
        maker_fee = self.config.roles[maker_team.role].maker_fee * quantity
        taker_fee = self.config.roles[taker_team.role].taker_fee * quantity
        maker.fill(quantity)
        taker.fill(quantity)
        iid = book.instrument_id
        maker_team.fill(iid, maker.is_buy, quantity, price, multiplier, maker_fee, resting=True)
        # a taker rests only in the auction, where both sides come from the book
        taker_team.fill(iid, taker.is_buy, quantity, price, multiplier, taker_fee,
                        resting=taker.order_id in self.orders)  # fmt: skip
        book.last = price
        self.counters[2] += 1
        seq, ts = self._next()
        self._emit(
            Trade(
                seq=seq,
                ts=ts,
                trade_id=f"TRD_{self.counters[2]:08d}",
                instrument_id=book.instrument_id,
                price=price,
                quantity=quantity,
                maker_order_id=maker.order_id,
                maker_team_id=maker.team_id,
                maker_side=maker.side,
                maker_fee=maker_fee,
                maker_remaining=maker.remaining,
                taker_order_id=taker.order_id,
                taker_team_id=taker.team_id,
                taker_fee=taker_fee,
                taker_remaining=taker.remaining,
                maker_client_order_id=maker.client_order_id,
                taker_client_order_id=taker.client_order_id,
            )
        )
        for order in (maker, taker):
            if order.remaining == 0 and order.order_id in self.orders:
                book.side(order.is_buy).remove(order)
                self._forget(order)

    def _forget(self, order: Order) -> None:
        """An order is done (filled or cancelled): drop it from the live indexes."""
        del self.orders[order.order_id]
        del self.teams[order.team_id].orders[order.order_id]
        if order.client_order_id is not None:
            self.client_ids.pop((order.team_id, order.client_order_id), None)

    def _cancelled(
        self, order: Order, quantity: int, reason: str, request_id: str | None = None
    ) -> None:
        seq, ts = self._next()
        self._emit(
            OrderCancelled(
                seq=seq,
                ts=ts,
                order_id=order.order_id,
                team_id=order.team_id,
                instrument_id=order.instrument_id,
                side=order.side,
                cancelled_quantity=quantity,
                reason=reason,
                client_order_id=order.client_order_id,
                request_id=request_id,
            )
        )

    def _pull(self, order: Order, reason: str, request_id: str | None = None) -> None:
        """Cancel a resting order."""
        self.books[order.instrument_id].side(order.is_buy).remove(order)
        self.teams[order.team_id].rest(order, -order.remaining)
        quantity = order.cancel()
        self._forget(order)
        self._cancelled(order, quantity, reason, request_id)

    def _cancel(self, c: CancelOrder) -> None:
        team = self.teams.get(c.team_id)
        order = self.orders.get(c.order_id)
        refusal = None
        if team is None or team.disabled:
            refusal = Refusal("TEAM_NOT_FOUND", f"no active team {c.team_id[:64]!r}")
        else:
            refusal = rules.phase_allows(self.phase, "cancel orders")
        if refusal is None and (order is None or order.team_id != c.team_id):
            # another team's order is "not found" too: ids leak nothing
            refusal = Refusal("ORDER_NOT_FOUND", f"no open order {c.order_id[:64]!r}")
        if refusal is not None:
            self._refuse(c, refusal, order_id=c.order_id[:64])
            return
        assert order is not None
        self._pull(order, "user", c.request_id)

    def _cancel_all(self, c: CancelAll) -> None:
        team = self.teams.get(c.team_id)
        if team is None or team.disabled:
            self._refuse(c, Refusal("TEAM_NOT_FOUND", f"no active team {c.team_id[:64]!r}"))
            return
        refusal = rules.phase_allows(self.phase, "cancel orders")
        if (
            refusal is None
            and c.instrument_id is not None
            and c.instrument_id not in self.instruments
        ):
            refusal = Refusal("INVALID_INSTRUMENT", f"unknown instrument {c.instrument_id[:64]!r}")
        if refusal is not None:
            self._refuse(c, refusal)
            return
        for order in list(team.orders.values()):
            if c.instrument_id is None or order.instrument_id == c.instrument_id:
                self._pull(order, "cancel_all", c.request_id)

    # ------------------------------------------------------------------ quotes

    def _quote(self, c: SubmitQuote) -> None:
        team = self.teams.get(c.team_id)
        refusal = self._admit_quote(c, team)
        if refusal is not None:
            self._refuse(c, refusal, instrument_id=c.instrument_id[:64])
            return
        assert team is not None
        key = (team.team_id, c.instrument_id)
        old = [self.orders[o] for o in self.quotes.get(key, ()) if o in self.orders]
        for order in old:  # what the check sees: the new quote instead of the old one
            team.rest(order, -order.remaining)
        rule = self.config.roles[team.role]
        instrument = self.instruments[c.instrument_id]
        refusal = rules.position_limits(rule, team, instrument, True, c.bid_size) or (
            rules.position_limits(rule, team, instrument, False, c.ask_size)
        )
        for order in old:
            team.rest(order, order.remaining)
        if refusal is not None:
            self._refuse(c, refusal, instrument_id=c.instrument_id)
            return
        for order in old:
            self._pull(order, "replaced", c.request_id)
        bid = self._place(
            team, c.instrument_id, True, "limit", c.bid_price, c.bid_size, None, c.request_id, True
        )
        ask = self._place(
            team, c.instrument_id, False, "limit", c.ask_price, c.ask_size, None, c.request_id, True
        )
        self.quotes[key] = (bid.order_id, ask.order_id)

    def _admit_quote(self, c: SubmitQuote, team: Account | None) -> Refusal | None:
        if team is None or team.disabled:
            return Refusal("TEAM_NOT_FOUND", f"no active team {c.team_id[:64]!r}")
        rule = self.config.roles[team.role]
        refusal = (
            rules.phase_allows(self.phase, "quote")
            or rules.role_allows(rule, team.role, "quote", 1)
            or rules.order_fields(
                self.instruments,
                self.config,
                c.instrument_id,
                "buy",
                c.bid_size,
                "limit",
                c.bid_price,
            )
            or rules.order_fields(
                self.instruments,
                self.config,
                c.instrument_id,
                "sell",
                c.ask_size,
                "limit",
                c.ask_price,
            )
            or rules.quote_fields(c.bid_price, c.bid_size, c.ask_price, c.ask_size, rule)
        )
        if refusal is None and team.api_key_hash and not team.exempt:
            refusal = self.limiter.check(team.team_id, rule.orders_per_second, self._ts)
        return refusal

    # ------------------------------------------------------------------ admin

    def _admin(self, c: DisableTeam | SetHouse | SetClock) -> None:
        seq, ts = self._next()
        action = str(type(c).__struct_config__.tag)
        if isinstance(c, DisableTeam):
            team = self.teams.get(c.team_id)
            if team is None:
                self._refuse(c, Refusal("TEAM_NOT_FOUND", f"no team {c.team_id[:64]!r}"))
                return
            team.disabled = True
            self._emit(
                AdminApplied(
                    seq=seq, ts=ts, action=action, team_id=team.team_id, request_id=c.request_id
                )
            )
            for order in list(team.orders.values()):
                self._pull(order, "team_disabled")
        elif isinstance(c, SetHouse):
            self.house_enabled = c.enabled
            self._emit(
                AdminApplied(
                    seq=seq,
                    ts=ts,
                    action=action,
                    value=str(c.enabled).lower(),
                    request_id=c.request_id,
                )
            )
            if not c.enabled:
                for team in self.teams.values():
                    if team.exempt:
                        for order in list(team.orders.values()):
                            self._pull(order, "cancel_all")
        else:
            self.clock_running = c.running
            self._emit(
                AdminApplied(
                    seq=seq,
                    ts=ts,
                    action=action,
                    value=str(c.running).lower(),
                    request_id=c.request_id,
                )
            )

    # ------------------------------------------------------------------ session

    def _change_phase(self, phase: str) -> None:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        previous, self.phase = self.phase, phase
        seq, ts = self._next()
        self._emit(PhaseChanged(seq=seq, ts=ts, phase=phase, previous=previous))
        if phase == "closed":
            for order in list(self.orders.values()):
                self._pull(order, "market_close")
        elif phase == "opening_auction" or (
            phase == "continuous" and previous != "opening_auction"
        ):
            self._uncross()

    def _uncross(self) -> None:
        for iid, book in self.books.items():
            reference = self.fair.get(iid, book.last)
            cleared = clearing_price(book, reference)
            if cleared is None:
                continue
            price, volume = cleared
            bids = [o for o in book.bids.best_orders() if o.price is not None and o.price >= price]
            asks = [o for o in book.asks.best_orders() if o.price is not None and o.price <= price]
            while volume > 0 and bids and asks:
                bid, ask = bids[0], asks[0]
                quantity = min(bid.remaining, ask.remaining, volume)
                maker, taker = (bid, ask) if bid.seq <= ask.seq else (ask, bid)
                self._trade(maker, taker, price, quantity, book)
                volume -= quantity
                if bid.remaining == 0:
                    bids.pop(0)
                if ask.remaining == 0:
                    asks.pop(0)

    def _tick(self) -> None:
        digest = self.digest()  # the state as the tick arrives: what two runs compare
        self.tick_number += 1
        seq, ts = self._next()
        self._emit(
            TickStarted(
                seq=seq, ts=ts, tick_number=self.tick_number, phase=self.phase, digest=digest
            )
        )
        out = self.market.on_tick(self.tick_number, self.phase, self)
        self.fair = dict(out.fair)
        tick = self.tick_number
        seq, ts = self._next()
        self._emit(
            UnderlyingPrices(
                seq=seq, ts=ts, tick_number=tick, spx=out.spx, spy=out.spy, regime=out.regime
            )
        )
        # the market's items carry the records' field names: one conversion for all
        for kind, items in ((News, out.news), (VolatilitySignal, out.vol_forecasts),
                            (TrackingSignal, out.tracking)):  # fmt: skip
            for item in items:
                self._record(kind, tick_number=tick, **msgspec.structs.asdict(item))
        for team in self.teams.values():  # simulated retail orders live for one tick
            if team.role == "retail" and not team.api_key_hash:
                for order in list(team.orders.values()):
                    self._pull(order, "expired")
        for iid in out.withdrawn:  # the house cannot quote it validly: no stale quote stays
            for team in self.teams.values():
                if team.exempt:
                    for order_id in self.quotes.pop((team.team_id, iid), ()):
                        if order_id in self.orders:
                            self._pull(self.orders[order_id], "replaced")
        for q in out.quotes if self.house_enabled else ():
            self._quote(_quote_command(q))
        for o in out.orders:
            self._submit(_order_command(o))
        self._market_data()

    def _market_data(self) -> None:
        for iid, book in self.books.items():
            key = book.quote_key()
            if self.published.get(iid) == key:
                continue
            self.published[iid] = key
            seq, ts = self._next()
            self._emit(
                MarketData(
                    seq=seq,
                    ts=ts,
                    instrument_id=iid,
                    bid=key[0],
                    ask=key[1],
                    last=key[2],
                    bid_size=key[3],
                    ask_size=key[4],
                    fair=self.fair.get(iid),
                )
            )

    # ------------------------------------------------------------------ views

    def best_bid(self, instrument_id: str) -> tuple[int, int] | None:
        return self.books[instrument_id].bids.top()

    def best_ask(self, instrument_id: str) -> tuple[int, int] | None:
        return self.books[instrument_id].asks.top()

    def position(self, team_id: str, instrument_id: str) -> int:
        team = self.teams.get(team_id)
        return 0 if team is None else team.positions.get(instrument_id, 0)

    def total_position(self, team_id: str) -> int:
        team = self.teams.get(team_id)
        return 0 if team is None else team.total_position()

    def mark(self, instrument_id: str) -> int | None:
        """Mid when both sides are quoted, else the model's fair value, else the last trade."""
        book = self.books[instrument_id]
        bid, ask = book.bids.best(), book.asks.best()
        if bid is not None and ask is not None:
            return (bid + ask) // 2
        return self.fair.get(instrument_id, book.last)

    def pnl(self, team_id: str) -> dict[str, int]:
        """Realised, unrealised (marked) and total P&L of a team in cents; total includes fees."""
        team = self.teams[team_id]
        unrealised = 0
        for iid, position in team.positions.items():
            mark = self.mark(iid)
            if position and mark is not None:
                unrealised += position * mark * self.instruments[iid].multiplier - team.cost.get(
                    iid, 0
                )
        fees = team.fees_paid + team.fees_received
        return {
            "realised": team.realised,
            "unrealised": unrealised,
            "fees": fees,
            "total": team.realised + unrealised + fees,
        }

    def digest(self) -> str:
        """A hash of the whole state, so two runs can be compared tick by tick."""
        state: list[Any] = [self.phase, self.tick_number, self.counters]
        for iid, book in self.books.items():
            state.append(
                (
                    iid,
                    book.last,
                    [(o.order_id, o.remaining) for o in book.bids.best_orders()],
                    [(o.order_id, o.remaining) for o in book.asks.best_orders()],
                )
            )
        for team in self.teams.values():
            state.append((team.team_id, team.positions, team.cash, team.realised))
        return hashlib.blake2b(msgspec.msgpack.encode(state), digest_size=16).hexdigest()


def _quote_command(q: SimQuote) -> SubmitQuote:
    return SubmitQuote(
        team_id=q.team_id,
        instrument_id=q.instrument_id,
        bid_price=q.bid_price,
        bid_size=q.bid_size,
        ask_price=q.ask_price,
        ask_size=q.ask_size,
    )


def _order_command(o: SimOrder) -> SubmitOrder:
    return SubmitOrder(
        team_id=o.team_id,
        instrument_id=o.instrument_id,
        side=o.side,
        quantity=o.quantity,
        order_type=o.order_type,
        price=o.price,
    )
