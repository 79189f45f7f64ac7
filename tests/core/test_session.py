"""The opening auction, quotes, ticks, market data and the simulated participants."""

from __future__ import annotations

from engine.core.auction import clearing_price
from engine.core.book import Book
from engine.core.orders import Order
from engine.market import SimOrder, SimQuote, SimTeam
from engine.records import (
    ChangePhase,
    ClockTick,
    Event,
    MarketData,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    StartSession,
    SubmitQuote,
    TeamRegistered,
    TickStarted,
    Trade,
    UnderlyingPrices,
)
from tests.core.fakes import Driver

CALL = "SPX_4400_CALL"


def book_of(*orders: tuple[str, int, int]) -> Book:
    book = Book(CALL)
    for n, (side, price, qty) in enumerate(orders):
        book.side(side == "buy").add(
            Order(f"O{n}", "T", CALL, side == "buy", "limit", price, qty, n)
        )
    return book


def test_auction_no_cross() -> None:
    assert clearing_price(book_of(("buy", 100, 5), ("sell", 101, 5)), None) is None


def test_auction_full_cross_at_the_volume_maximising_price() -> None:
    book = book_of(("buy", 105, 10), ("sell", 100, 10))
    # both book prices clear all 10 with no imbalance: the one closer to the reference wins
    assert clearing_price(book, 103) == (105, 10)
    assert clearing_price(book, 102) == (100, 10)


def test_auction_maximises_volume_then_minimises_imbalance() -> None:
    # demand: 10 @ 102, +10 @ 100; supply: 5 @ 99, +10 @ 101
    book = book_of(("buy", 102, 10), ("buy", 100, 10), ("sell", 99, 5), ("sell", 101, 10))
    price, volume = clearing_price(book, None) or (0, 0)
    # at 101: demand 10, supply 15 -> 10; at 100: demand 20, supply 5 -> 5; at 102: 10 vs 15 -> 10
    # 101 and 102 both clear 10 with imbalance 5: the lower price wins without a reference
    assert (price, volume) == (101, 10)


def test_auction_ties_go_to_the_price_closest_to_the_reference() -> None:
    book = book_of(("buy", 110, 10), ("sell", 100, 10))
    # candidates are the book's prices: 100 and 110 both clear 10, the reference picks
    assert clearing_price(book, 108) == (110, 10)
    assert clearing_price(book, 101) == (100, 10)


def test_entering_the_auction_uncrosses_with_one_price_and_earlier_orders_as_makers() -> None:
    d = Driver(phase="pre_open", house={"enabled": False}, retail={"enabled": False})
    a, b, c = (
        d.team("alpha", "arbitrage"),
        d.team("bravo", "arbitrage"),
        d.team("charlie", "arbitrage"),
    )
    d.market.fair_values[CALL] = 2520
    d.order(a, "buy", 10, 2550)
    d.order(b, "sell", 6, 2500)
    d.order(c, "sell", 6, 2530)
    events = d.run(ChangePhase(phase="opening_auction"))
    fills = [e for e in events if isinstance(e, Trade)]
    assert {f.price for f in fills} == {2530}  # 10 demanded >= 2530, 12 offered <= 2530
    assert sum(f.quantity for f in fills) == 10
    assert all(f.maker_team_id == a for f in fills)  # the earliest order makes
    book = d.core.books[CALL]
    assert not book.crossed()
    assert book.asks.depth(1) == [(2530, 2, 1)]


def test_quotes_are_two_sided_within_ten_percent_and_replace_the_previous() -> None:
    d = Driver(house={"enabled": False}, retail={"enabled": False})
    mm = d.team("maker", "market_maker")
    first = d.run(
        SubmitQuote(
            team_id=mm, instrument_id=CALL, bid_price=2400, bid_size=5, ask_price=2600, ask_size=5
        )
    )
    assert [e.side for e in first if isinstance(e, OrderAccepted) and e.quote] == ["buy", "sell"]
    second = d.run(
        SubmitQuote(
            team_id=mm, instrument_id=CALL, bid_price=2450, bid_size=3, ask_price=2550, ask_size=3
        )
    )
    replaced = [e for e in second if isinstance(e, OrderCancelled)]
    assert [(e.reason, e.cancelled_quantity) for e in replaced] == [
        ("replaced", 5),
        ("replaced", 5),
    ]
    assert d.core.books[CALL].bids.depth(5) == [(2450, 3, 1)]
    wide = d.run(
        SubmitQuote(
            team_id=mm, instrument_id=CALL, bid_price=2000, bid_size=1, ask_price=2600, ask_size=1
        )
    )
    assert isinstance(wide[0], OrderRejected)
    assert wide[0].code == "INVALID_PRICE"
    empty = d.run(
        SubmitQuote(
            team_id=mm, instrument_id=CALL, bid_price=2450, bid_size=0, ask_price=2550, ask_size=1
        )
    )
    assert isinstance(empty[0], OrderRejected)
    assert empty[0].code == "INVALID_QUANTITY"
    assert d.core.books[CALL].bids.depth(5) == [(2450, 3, 1)]  # refused quotes leave the old one


def test_a_quote_spread_of_exactly_ten_percent_of_mid_is_the_widest_allowed() -> None:
    d = Driver(house={"enabled": False}, retail={"enabled": False})
    mm = d.team("maker", "market_maker")

    def quote(bid: int, ask: int) -> list[Event]:
        return d.run(
            SubmitQuote(
                team_id=mm, instrument_id=CALL, bid_price=bid, bid_size=1, ask_price=ask, ask_size=1
            )
        )

    # mid 25.00: 10% is 2.50
    assert not any(isinstance(e, OrderRejected) for e in quote(2375, 2625))
    [refused] = quote(2370, 2630)  # 2.60 wide
    assert isinstance(refused, OrderRejected)
    assert refused.code == "INVALID_PRICE"
    assert refused.details == {"spread_cents": 260, "max_spread_cents": 250}


def test_a_cheap_option_can_be_quoted_within_the_width_table() -> None:
    """Issue 32: a one-cent spread on an option near 0.05 was refused (10% of its mid is
    0.00); the default table lets a bid under 1.00 quote 0.10 wide."""
    d = Driver(house={"enabled": False}, retail={"enabled": False})
    mm = d.team("maker", "market_maker")

    def quote(bid: int, ask: int) -> list[Event]:
        return d.run(
            SubmitQuote(
                team_id=mm, instrument_id=CALL, bid_price=bid, bid_size=1, ask_price=ask, ask_size=1
            )
        )

    assert not any(isinstance(e, OrderRejected) for e in quote(5, 6))
    assert not any(isinstance(e, OrderRejected) for e in quote(1, 11))
    [refused] = quote(1, 12)
    assert isinstance(refused, OrderRejected)
    assert refused.details == {"spread_cents": 11, "max_spread_cents": 10}


def test_a_tick_starts_with_its_digest_then_prices_then_changed_market_data() -> None:
    d = Driver(house={"enabled": False}, retail={"enabled": False})
    digest = d.core.digest()
    events = d.run(ClockTick())
    assert isinstance(events[0], TickStarted)
    assert (events[0].tick_number, events[0].digest) == (1, digest)
    assert isinstance(events[1], UnderlyingPrices)
    first = [e.instrument_id for e in events if isinstance(e, MarketData)]
    assert len(first) == 22  # the first tick publishes every instrument
    assert not [e for e in d.run(ClockTick()) if isinstance(e, MarketData)]  # nothing changed
    a = d.team("alpha")
    d.order(a, "buy", 2, 2400)
    d.order(a, "buy", 1, 2400)
    [md] = [e for e in d.run(ClockTick()) if isinstance(e, MarketData)]  # once per tick
    assert (md.instrument_id, md.bid, md.bid_size, md.ask, md.fair) == (CALL, 2400, 3, None, 2500)


def test_simulated_participants_go_through_the_same_rules() -> None:
    d = Driver(house={"enabled": False}, retail={"enabled": False}, phase="closed")
    d.market.sim_teams = (
        SimTeam(
            team_id="TEAM_HOUSE", team_name="house", role="market_maker", exempt_from_limits=True
        ),
        SimTeam(team_id="TEAM_RETAIL_1", team_name="retail-1", role="retail"),
    )
    registered = d.run(StartSession(session_id="s", seed=1, config="{}", config_hash="h"))
    assert [e.team_id for e in registered if isinstance(e, TeamRegistered)] == [
        "TEAM_HOUSE",
        "TEAM_RETAIL_1",
    ]
    assert all(e.api_key_hash == "" for e in registered if isinstance(e, TeamRegistered))
    d.run(ChangePhase(phase="continuous"))
    d.market.quotes = [
        SimQuote(
            team_id="TEAM_HOUSE",
            instrument_id=CALL,
            bid_price=2400,
            bid_size=500,
            ask_price=2600,
            ask_size=500,
        )
    ]
    d.market.orders = [
        SimOrder(
            team_id="TEAM_RETAIL_1",
            instrument_id=CALL,
            side="buy",
            quantity=60,
            order_type="market",
        )
    ]
    events = d.run(ClockTick())
    # the house quotes 500 (beyond any market maker limit): exempt; retail's 60 breaches its 50
    assert [e.quote for e in events if isinstance(e, OrderAccepted)] == [True, True]
    [refused] = [e for e in events if isinstance(e, OrderRejected)]
    assert (refused.team_id, refused.code) == ("TEAM_RETAIL_1", "POSITION_LIMIT_EXCEEDED")


def test_the_digest_changes_with_the_state_and_only_with_it() -> None:
    d1 = Driver(house={"enabled": False}, retail={"enabled": False})
    d2 = Driver(house={"enabled": False}, retail={"enabled": False})
    assert d1.core.digest() == d2.core.digest()
    d1.order(d1.team("alpha"), "buy", 1, 2400)
    assert d1.core.digest() != d2.core.digest()
    d2.order(d2.team("alpha"), "buy", 1, 2400)
    assert d1.core.digest() == d2.core.digest()


def test_the_auction_matches_a_bid_equal_to_the_ask() -> None:
    d = Driver(phase="pre_open", house={"enabled": False}, retail={"enabled": False})
    a, b = d.team("alpha", "arbitrage"), d.team("bravo", "arbitrage")
    d.order(a, "buy", 4, 2500)
    d.order(b, "sell", 4, 2500)
    fills = [e for e in d.run(ChangePhase(phase="opening_auction")) if isinstance(e, Trade)]
    assert [(f.price, f.quantity) for f in fills] == [(2500, 4)]
