"""Matching rules of SPEC: price-time priority, partial fills, market orders, fees, cash."""

from __future__ import annotations

from engine.records import Event, OrderAccepted, OrderCancelled, Trade
from tests.core.fakes import Driver

CALL = "SPX_4400_CALL"


def trades(events: list[Event]) -> list[Trade]:
    return [e for e in events if isinstance(e, Trade)]


def bots_only() -> Driver:
    return Driver(house={"enabled": False}, retail={"enabled": False})


def test_spec_example_price_time_priority_and_partial_fill() -> None:
    d = bots_only()
    t1, t2, t3, seller = d.team("t-one"), d.team("t-two"), d.team("t-three"), d.team("seller")
    first = d.order_id(d.order(t1, "buy", 50, 2545))
    second = d.order_id(d.order(t2, "buy", 30, 2545))
    lower = d.order_id(d.order(t3, "buy", 100, 2540))
    fills = trades(d.order(seller, "sell", 60, 2540))
    assert [(f.maker_order_id, f.quantity, f.price) for f in fills] == [
        (first, 50, 2545),
        (second, 10, 2545),
    ]
    bids = d.core.books[CALL].bids
    assert bids.depth(5) == [(2545, 20, 1), (2540, 100, 1)]
    assert d.core.orders[second].remaining == 20
    assert d.core.orders[lower].remaining == 100
    assert first not in d.core.orders  # filled orders leave the book


def test_a_limit_order_rests_its_remainder_and_trades_at_the_makers_price() -> None:
    d = bots_only()
    maker, taker = d.team("maker"), d.team("taker")
    d.order(maker, "sell", 5, 2500)
    events = d.order(taker, "buy", 8, 2600)
    [fill] = trades(events)
    assert (fill.price, fill.quantity, fill.taker_remaining) == (2500, 5, 3)
    assert d.core.books[CALL].bids.depth(1) == [(2600, 3, 1)]
    assert not d.core.books[CALL].asks.prices


def test_a_limit_order_that_does_not_cross_only_rests() -> None:
    d = bots_only()
    a, b = d.team("alpha"), d.team("bravo")
    d.order(a, "sell", 5, 2500)
    events = d.order(b, "buy", 5, 2499)
    assert not trades(events)
    assert d.core.books[CALL].bids.best() == 2499
    assert d.core.books[CALL].asks.best() == 2500


def test_a_market_order_never_rests() -> None:
    d = bots_only()
    maker, taker = d.team("maker"), d.team("taker")
    d.order(maker, "sell", 4, 2500)
    d.order(maker, "sell", 3, 2510)
    events = d.order(taker, "buy", 10, None)
    assert [(f.price, f.quantity) for f in trades(events)] == [(2500, 4), (2510, 3)]
    [cancel] = [e for e in events if isinstance(e, OrderCancelled)]
    assert (cancel.reason, cancel.cancelled_quantity) == ("no_liquidity", 3)
    assert not d.core.books[CALL].bids.prices
    assert not d.core.orders


def test_a_market_order_into_an_empty_book_is_cancelled_whole() -> None:
    d = bots_only()
    events = d.order(d.team("taker"), "sell", 2, None)
    assert isinstance(events[0], OrderAccepted)
    assert isinstance(events[1], OrderCancelled)
    assert events[1].cancelled_quantity == 2


def test_self_trade_is_allowed_and_pays_no_fee_and_no_rebate() -> None:
    d = bots_only()
    mm = d.team("solo", "market_maker")
    d.order(mm, "sell", 5, 2500)
    [fill] = trades(d.order(mm, "buy", 5, 2500))
    assert fill.maker_team_id == fill.taker_team_id == mm
    assert (fill.maker_fee, fill.taker_fee, fill.self_trade) == (0, 0, True)
    assert d.core.teams[mm].positions[CALL] == 0
    assert d.core.teams[mm].cash == 0  # the notional nets out and no fee moved


def test_fees_follow_the_role_table() -> None:
    table = {
        "market_maker": (2, -1),
        "hedge_fund": (1, -2),
        "arbitrage": (1, -2),
        "retail": (-1, -3),
    }
    for maker_role, (maker_fee, _) in table.items():
        for taker_role, (_, taker_fee) in table.items():
            d = bots_only()
            maker, taker = (
                d.team(f"m-{maker_role}", maker_role),
                d.team(f"t-{taker_role}", taker_role),
            )
            d.order(maker, "sell", 3, 1000, iid="SPY_440_CALL")
            [fill] = trades(d.order(taker, "buy", 3, 1000, iid="SPY_440_CALL"))
            assert (fill.maker_fee, fill.taker_fee) == (3 * maker_fee, 3 * taker_fee), (
                maker_role,
                taker_role,
            )


def test_cash_moves_by_price_times_quantity_times_multiplier() -> None:
    d = bots_only()
    seller, buyer = d.team("seller", "arbitrage"), d.team("buyer", "arbitrage")
    d.order(seller, "sell", 2, 2545)
    d.order(buyer, "buy", 2, 2545)
    notional = 2545 * 2 * 100
    assert d.core.teams[buyer].cash == -notional - 2 * 2
    assert d.core.teams[seller].cash == notional + 2 * 1
    d.order(seller, "sell", 3, 440_000, iid="SPX")  # underlyings have multiplier 1
    d.order(buyer, "buy", 3, 440_000, iid="SPX")
    assert d.core.teams[buyer].cash == -notional - 4 - 3 * 440_000 - 6


def test_realised_and_unrealised_pnl_use_average_cost_through_a_flip() -> None:
    d = bots_only()
    me, other = d.team("trader", "arbitrage"), d.team("other", "arbitrage")
    for price in (1000, 1200):  # long 2 at an average of 11.00
        d.order(other, "sell", 1, price, iid="SPX")
        d.order(me, "buy", 1, price, iid="SPX")
    d.order(other, "buy", 3, 1500, iid="SPX")  # sell 3 at 15.00: close 2, open short 1
    d.order(me, "sell", 3, 1500, iid="SPX")
    account = d.core.teams[me]
    assert account.positions["SPX"] == -1
    assert account.realised == (1500 - 1000) + (1500 - 1200)
    assert account.cost["SPX"] == -1500
    pnl = d.core.pnl(me)
    mark = d.core.mark("SPX")
    assert mark is not None
    assert pnl["unrealised"] == -1 * mark + 1500
    assert pnl["total"] == pnl["realised"] + pnl["unrealised"] + pnl["fees"]


def test_ids_are_deterministic_counters() -> None:
    d = bots_only()
    a, b = d.team("alpha"), d.team("bravo")
    assert (a, b) == ("TEAM_0001", "TEAM_0002")
    assert d.order_id(d.order(a, "sell", 1, 2500)) == "ORD_00000001"
    [fill] = trades(d.order(b, "buy", 1, 2500))
    assert fill.trade_id == "TRD_00000001"


def test_events_follow_their_command_with_contiguous_seqs() -> None:
    d = bots_only()
    a, b = d.team("alpha"), d.team("bravo")
    d.order(a, "sell", 1, 2500)
    d.order(b, "buy", 1, 2500)
    assert [r.seq for r in d.log] == list(range(1, len(d.log) + 1))
