"""Invariants of the core over random command streams (hypothesis stateful testing).

- the book is never crossed at rest while trading is continuous;
- net positions per instrument sum to zero;
- for every order: filled + resting + cancelled == submitted;
- fees follow the role table, fill by fill, and a self-trade carries none;
- no trade prints outside the price band of its moment, and no order rests outside it,
  while fair values move under the orders (prices are drawn around and beyond the band);
- with ``self_trade = "prevent"`` no team ever trades with itself;
- replaying the same commands gives byte-identical events and the same digest;
- the digest, which keeps each book side's encoding until the side changes, equals the
  whole state encoded afresh after every step.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from engine import records
from engine.core import rules
from engine.records import (
    CancelAll,
    CancelOrder,
    ChangePhase,
    ClockTick,
    Command,
    Event,
    OrderAccepted,
    OrderCancelled,
    SubmitOrder,
    SubmitQuote,
    Trade,
)
from tests.core.fakes import Driver

INSTRUMENTS = ["SPX_4400_CALL", "SPX_4400_PUT", "SPY"]
ROLES = ["market_maker", "hedge_fund", "arbitrage", "retail", "market_maker", "hedge_fund"]
FEES = {"market_maker": (2, -1), "hedge_fund": (1, -2), "arbitrage": (1, -2), "retail": (-1, -3)}
#: Fair value 100 cents: options banded 50-150 (the 0.50 floor), SPY 80-120 (20%).
FAIR = 100
Step = tuple[Command | None, float | int]  # a command and its clock advance, or a new fair


class CoreMachine(RuleBasedStateMachine):
    SELF_TRADE = "allow"

    def driver_for(self) -> Driver:
        driver = Driver(
            house={"enabled": False},
            retail={"enabled": False},
            price_limits={"enabled": True},
            execution={"self_trade": self.SELF_TRADE},
        )
        for i, role in enumerate(ROLES):
            driver.team(f"bot-{i}", role)  # "team-1" reads as a team id
        return driver

    @initialize()
    def setup(self) -> None:
        self.driver = self.driver_for()
        self.teams = list(self.driver.core.teams)
        self.roles = dict(zip(self.teams, ROLES, strict=True))
        self.steps: list[Step] = []
        self.events: list[Event] = []
        self.submitted: dict[str, int] = {}
        self.filled: dict[str, int] = {}
        self.cancelled: dict[str, int] = {}
        self.orders: list[str] = []
        self.set_fair(FAIR)

    def set_fair(self, fair: int) -> None:
        """The fake market's fair values move to ``fair``; a tick makes them current."""
        self.steps.append((None, fair))
        self.driver.market.fair_values = dict.fromkeys(self.driver.market.fair_values, fair)
        self.run(ClockTick(), advance=1.0)

    def run(self, command: Command, advance: float = 0.05) -> None:
        self.steps.append((command, advance))
        events = self.driver.run(command, advance=advance)
        self.events.extend(events)
        bands = self.driver.core.bands
        for e in events:
            if isinstance(e, OrderAccepted) and not e.duplicate:
                self.submitted[e.order_id] = e.quantity
                self.orders.append(e.order_id)
            elif isinstance(e, Trade):
                for oid in (e.maker_order_id, e.taker_order_id):
                    self.filled[oid] = self.filled.get(oid, 0) + e.quantity
                maker_fee, _ = FEES[self.roles[e.maker_team_id]]
                _, taker_fee = FEES[self.roles[e.taker_team_id]]
                if e.maker_team_id == e.taker_team_id:
                    assert self.SELF_TRADE == "allow", e
                    assert (e.maker_fee, e.taker_fee, e.self_trade) == (0, 0, True)
                else:
                    assert not e.self_trade
                    assert e.maker_fee == maker_fee * e.quantity
                    assert e.taker_fee == taker_fee * e.quantity
                # bands change only at ticks, before anything trades: these are its moment's
                assert rules.in_band(e.price, bands[e.instrument_id]), (e, bands)
            elif isinstance(e, OrderCancelled):
                self.cancelled[e.order_id] = (
                    self.cancelled.get(e.order_id, 0) + e.cancelled_quantity
                )

    @rule(
        team=st.integers(0, 5),
        iid=st.sampled_from(INSTRUMENTS),
        buy=st.booleans(),
        qty=st.integers(1, 40),
        price=st.integers(30, 170),
        cid=st.sampled_from([None, "a", "b"]),
    )
    def limit(self, team: int, iid: str, buy: bool, qty: int, price: int, cid: str | None) -> None:
        self.run(
            SubmitOrder(
                team_id=self.teams[team],
                instrument_id=iid,
                side="buy" if buy else "sell",
                quantity=qty,
                order_type="limit",
                price=price,
                client_order_id=cid,
            )
        )

    @rule(
        team=st.integers(0, 5),
        iid=st.sampled_from(INSTRUMENTS),
        buy=st.booleans(),
        qty=st.integers(1, 40),
    )
    def market(self, team: int, iid: str, buy: bool, qty: int) -> None:
        self.run(
            SubmitOrder(
                team_id=self.teams[team],
                instrument_id=iid,
                side="buy" if buy else "sell",
                quantity=qty,
                order_type="market",
            )
        )

    @rule(
        team=st.sampled_from([0, 4]),
        iid=st.sampled_from(INSTRUMENTS),
        bid=st.integers(40, 160),
        width=st.integers(1, 8),
        size=st.integers(1, 20),
    )
    def quote(self, team: int, iid: str, bid: int, width: int, size: int) -> None:
        self.run(
            SubmitQuote(
                team_id=self.teams[team],
                instrument_id=iid,
                bid_price=bid,
                bid_size=size,
                ask_price=bid + width,
                ask_size=size,
            )
        )

    @precondition(lambda self: bool(self.orders))
    @rule(team=st.integers(0, 5), pick=st.integers(0, 10_000))
    def cancel(self, team: int, pick: int) -> None:
        self.run(
            CancelOrder(team_id=self.teams[team], order_id=self.orders[pick % len(self.orders)])
        )

    @rule(team=st.integers(0, 5), iid=st.sampled_from([None, *INSTRUMENTS]))
    def cancel_all(self, team: int, iid: str | None) -> None:
        self.run(CancelAll(team_id=self.teams[team], instrument_id=iid))

    @rule()
    def tick(self) -> None:
        self.run(ClockTick(), advance=1.0)

    @rule(fair=st.integers(60, 140))
    def fair_moves(self, fair: int) -> None:
        self.set_fair(fair)

    @rule(
        phase=st.sampled_from(["pre_open", "opening_auction", "continuous", "continuous", "closed"])
    )
    def phase(self, phase: str) -> None:
        self.run(ChangePhase(phase=phase))

    @invariant()
    def no_crossed_book_at_rest_in_continuous(self) -> None:
        if self.driver.core.phase in ("continuous", "opening_auction"):
            for book in self.driver.core.books.values():
                bid, ask = book.bids.best(), book.asks.best()
                assert bid is None or ask is None or bid < ask, book.instrument_id

    @invariant()
    def nothing_rests_outside_the_band(self) -> None:
        bands = self.driver.core.bands
        for order in self.driver.core.orders.values():
            assert order.price is not None
            assert rules.in_band(order.price, bands[order.instrument_id]), order.order_id

    @invariant()
    def positions_net_to_zero(self) -> None:
        totals: dict[str, int] = {}
        for account in self.driver.core.teams.values():
            for iid, qty in account.positions.items():
                totals[iid] = totals.get(iid, 0) + qty
        assert all(v == 0 for v in totals.values()), totals

    @invariant()
    def quantity_is_conserved(self) -> None:
        live = self.driver.core.orders
        for oid, qty in self.submitted.items():
            resting = live[oid].remaining if oid in live else 0
            assert self.filled.get(oid, 0) + resting + self.cancelled.get(oid, 0) == qty, oid

    @invariant()
    def the_digest_is_the_whole_state_encoded_now(self) -> None:
        # the digest keeps each book side's encoded orders until the side changes; the
        # oracle encodes everything afresh, as the digest did before it kept any
        core = self.driver.core
        state: list[Any] = [
            core.phase, core.tick_number,
            [core.teams_registered, core.orders_placed, core.trades_made],
        ]  # fmt: skip
        for iid, book in core.books.items():
            bids = [(o.order_id, o.remaining) for o in book.bids.best_orders()]
            asks = [(o.order_id, o.remaining) for o in book.asks.best_orders()]
            state.append((iid, book.last, bids, asks))
        for team in core.teams.values():
            state.append((team.team_id, team.positions, team.cash, team.realised))
        whole = hashlib.blake2b(msgspec.msgpack.encode(state), digest_size=16).hexdigest()
        assert core.digest() == whole

    def teardown(self) -> None:
        if not hasattr(self, "driver"):
            return
        again = self.driver_for()
        replayed: list[Event] = []
        for command, step in self.steps:
            if command is None:
                again.market.fair_values = dict.fromkeys(again.market.fair_values, int(step))
            else:
                replayed.extend(again.run(command, advance=step))
        assert [records.encode(e) for e in replayed] == [records.encode(e) for e in self.events]
        assert again.core.digest() == self.driver.core.digest()


class PreventMachine(CoreMachine):
    SELF_TRADE = "prevent"


CoreMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
TestCore = CoreMachine.TestCase
PreventMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None)
TestCoreSelfTradePrevented = PreventMachine.TestCase
