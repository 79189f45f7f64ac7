"""The pure exchange core: ``Exchange.apply(command) -> events``.

Theory of operation
-------------------
A deterministic state machine (docs/architecture.md, The contract, rule 1). No sockets,
files, clock, threads or global randomness: time is the command's ``ts``, randomness is
the market's RNG seeded from the session record, and ids are counters. Events get the
seqs after their command's (``command.seq + 1, + 2, ...``) and the command's ``ts``.

Matching (docs/rules.md, Orders): price-time priority, partial fills, trades at the resting
(maker) order's price; a market order never rests (its unfilled rest is cancelled
``no_liquidity``); self-trades pay and earn nothing, and prices stay within the band
around fair value (``trading.py`` says how). Phases gate what is
allowed: submit and cancel in pre_open and continuous, matching only in continuous,
one uncross on entering the opening auction, every resting order cancelled at close.

The core is three classes, a module each: ``CoreState`` (``state.py``: books, accounts,
counters, emitting events, read views), ``Trading`` (``trading.py``: orders, matching,
quotes) and ``Exchange`` here (commands, teams, admin and the session: phases, the
auction, ticks, market data).

Idempotency: a ``client_order_id`` is remembered for as long as its order is live; a
repeat from the same team meanwhile is answered with the original order
(``OrderAccepted(duplicate=True)``) and no new order. Once the order is filled or
cancelled, the id may be used again.
"""

from __future__ import annotations

import msgspec

from engine.core import names
from engine.core.accounts import Account
from engine.core.auction import clearing_price
from engine.core.rules import Refusal, registration_allows
from engine.core.state import MarketFactory, MarketLike, default_market
from engine.core.trading import Trading
from engine.market import SimOrder, SimQuote
from engine.records import (
    PHASES,
    ROLES,
    AddInvites,
    AdminApplied,
    CancelAll,
    CancelOrder,
    ChangePhase,
    ClockTick,
    Command,
    CompetitionEnded,
    DisableTeam,
    EnableTeam,
    EndCompetition,
    Event,
    ForkSession,
    MarketData,
    News,
    PhaseChanged,
    RegisterTeam,
    SetClock,
    SetHouse,
    SetRegistration,
    SetTrading,
    StartSession,
    SubmitOrder,
    SubmitQuote,
    TeamRegistered,
    TickStarted,
    TrackingSignal,
    UnderlyingPrices,
    VolatilitySignal,
)

__all__ = ["Exchange", "MarketFactory", "MarketLike", "default_market"]


class Exchange(Trading):
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
                if self.ended_seq:  # after the bell the market stays closed
                    self._refuse(command, _ended())
                else:
                    self._change_phase(command.phase)
            case RegisterTeam():
                self._register(command)
            case DisableTeam() | SetHouse() | SetClock() | SetRegistration():
                self._admin(command)
            case EnableTeam() | SetTrading():
                self._day(command)
            case EndCompetition():
                self._end(command)
            case ForkSession():
                self._fork(command)
            case AddInvites():
                self._invites(command)
            case StartSession():
                for team in self.market.teams():
                    self._add_team(
                        team.team_name, team.role, "", team.exempt_from_limits, team.team_id
                    )
        return self._events

    # ------------------------------------------------------------------ teams

    def _register(self, c: RegisterTeam) -> None:
        name = c.team_name.strip()
        invite = self.config.teams.registration == "invite"
        closed = (
            _ended()
            if self.ended_seq
            else registration_allows(
                self.registration_open, self.teams_registered, self.config.teams.max_teams
            )
        )
        if closed is not None:
            self._refuse(c, closed)
        elif not 3 <= len(name) <= 50 or not name.isprintable():
            self._refuse(
                c, Refusal("INVALID_TEAM_NAME", "a team name is 3-50 printable characters")
            )
        elif c.role not in ROLES:
            self._refuse(c, Refusal("INVALID_ROLE", f"role must be one of {', '.join(ROLES)}"))
        elif name.casefold() in self.names:
            self._refuse(c, Refusal("TEAM_NAME_TAKEN", f"the team name {name!r} is taken"))
        elif names.imitates_team_id(name):
            self._refuse(c, Refusal("INVALID_TEAM_NAME", "a team name may not look like a team id"))
        elif invite and c.invite_hash not in self.invites:
            self._refuse(c, Refusal("INVALID_INVITE", "registration needs an unused invite code"))
        elif (twin := self.skeletons.get(names.skeleton(name))) is not None:
            self._refuse(
                c,
                Refusal(
                    "TEAM_NAME_TAKEN",
                    f"the team name {name!r} looks like {self.teams[twin].name!r}",
                    {"team_id": twin},
                ),
            )
        else:
            if invite:
                self.invites.discard(c.invite_hash or "")  # used once
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
            self.teams_registered += 1
            team_id = f"TEAM_{self.teams_registered:04d}"
        self.teams[team_id] = Account(team_id, name, role, key_hash, exempt)
        self.names[name.casefold()] = team_id
        self.skeletons.setdefault(names.skeleton(name), team_id)
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

    def _fork(self, c: ForkSession) -> None:
        """The session goes on as a fork: its own id, the taken-over team's new key, or
        the bot under test's new team.

        Without a new team, no event and nothing the digest covers changes: a fork with
        no bot under test stays, tick for tick, the session it copies.
        """
        self.session_id = c.session_id
        team = self.teams.get(c.takeover_team_id or "")
        if team is not None and c.takeover_key_hash:
            team.api_key_hash = c.takeover_key_hash
        if c.join_role in ROLES and c.join_key_hash:
            # its own id, not the next of the counter: the parent's teams registered
            # after the fork keep theirs, which their replayed orders name
            team_id = f"TEAM_FORK_{c.parent_seq}"
            self._add_team(c.join_name, c.join_role, c.join_key_hash, False, team_id)

    # ------------------------------------------------------------------ admin

    def _invites(self, c: AddInvites) -> None:
        self.invites.update(c.code_hashes)
        seq, ts = self._next()
        self._emit(
            AdminApplied(seq=seq, ts=ts, action="add_invites", value=str(len(c.code_hashes)),
                         request_id=c.request_id)
        )  # fmt: skip

    def _admin(self, c: DisableTeam | SetHouse | SetClock | SetRegistration) -> None:
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
            self._emit(self._applied(seq, ts, action, c.enabled, c.request_id))
            if not c.enabled:
                for team in self.teams.values():
                    if team.exempt:
                        for order in list(team.orders.values()):
                            self._pull(order, "cancel_all")
        elif isinstance(c, SetRegistration):
            self.registration_open = c.open
            self._emit(self._applied(seq, ts, action, c.open, c.request_id))
        else:
            self.clock_running = c.running
            self._emit(self._applied(seq, ts, action, c.running, c.request_id))

    def _day(self, c: EnableTeam | SetTrading) -> None:
        """The admin switches of a competition day: reinstate a team, halt or resume."""
        seq, ts = self._next()
        if isinstance(c, EnableTeam):
            team = self.teams.get(c.team_id)
            if team is None:
                self._refuse(c, Refusal("TEAM_NOT_FOUND", f"no team {c.team_id[:64]!r}"))
                return
            team.disabled = False  # its orders were cancelled at the disable: none to restore
            self._emit(
                AdminApplied(
                    seq=seq,
                    ts=ts,
                    action="enable_team",
                    team_id=team.team_id,
                    request_id=c.request_id,
                )
            )
            return
        was_halted, self.trading_halted = self.trading_halted, c.halted
        self._emit(self._applied(seq, ts, "set_trading", c.halted, c.request_id))
        if was_halted and not c.halted and self.phase in ("opening_auction", "continuous"):
            # a phase change during the halt skipped its uncross: the book may be
            # crossed, and reopens the way the opening auction opens it
            self._uncross()

    def _end(self, c: EndCompetition) -> None:
        """The closing bell: close the market, stop the clock, record the final seq."""
        if self.ended_seq:
            self._refuse(c, _ended())
            return
        if self.phase != "closed":
            self._change_phase("closed")  # cancels every resting order (market_close)
        self.clock_running = False
        seq, ts = self._next()
        self.ended_seq = seq
        self._emit(
            CompetitionEnded(
                seq=seq,
                ts=ts,
                final_seq=seq,
                tick_number=self.tick_number,
                request_id=c.request_id,
            )
        )

    @staticmethod
    def _applied(
        seq: int, ts: int, action: str, value: bool, request_id: str | None
    ) -> AdminApplied:
        """A switch the organisers flipped; the value as JSON spells it."""
        return AdminApplied(
            seq=seq, ts=ts, action=action, value=str(value).lower(), request_id=request_id
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
        elif self.trading_halted:
            pass  # no trade while halted: the resume uncrosses instead
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
            prevent = self.config.execution.self_trade == "prevent"
            while volume > 0 and bids and asks:
                bid, ask = bids[0], asks[0]
                quantity = min(bid.remaining, ask.remaining, volume)
                maker, taker = (bid, ask) if bid.seq <= ask.seq else (ask, bid)
                if prevent and maker.team_id == taker.team_id:
                    # the later order is the incoming one: it goes, the earlier stays
                    (bids if taker is bid else asks).pop(0)
                    self._pull(taker, "self_trade_prevented")
                    continue
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
        self._refresh_bands()
        tick = self.tick_number
        seq, ts = self._next()
        self._emit(
            UnderlyingPrices(
                seq=seq,
                ts=ts,
                tick_number=tick,
                spx=out.spx,
                spy=out.spy,
                regime=out.regime,
                fair=dict(out.fair),
                delta_ppm=dict(out.delta_ppm),
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
        self._sweep_band()  # before anything can trade at the new fair values
        for iid in out.withdrawn:  # the house cannot quote it validly: no stale quote stays
            for team in self.teams.values():
                if team.exempt:
                    for order_id in self.quotes.pop((team.team_id, iid), ()):
                        if order_id in self.orders:
                            self._pull(self.orders[order_id], "replaced")
        if self.trading_halted or self.ended_seq:
            # the simulated flow stops with everyone else's (its orders would only be
            # refused); the model's prices, news and signals go on
            self._market_data()
            return
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


def _ended() -> Refusal:
    return Refusal("COMPETITION_ENDED", "the competition has ended: the market stays closed")


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
