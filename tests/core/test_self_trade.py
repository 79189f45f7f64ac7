"""Self-trades (SPEC "Matching"): no fee and no rebate when allowed, none at all when
prevented; the market maker's rebate farm of issue 9 earns nothing."""

from __future__ import annotations

from engine.records import ChangePhase, Event, OrderCancelled, Trade
from tests.core.fakes import Driver

CALL = "SPX_4400_CALL"


def trades(events: list[Event]) -> list[Trade]:
    return [e for e in events if isinstance(e, Trade)]


def bots(mode: str = "allow", phase: str = "continuous") -> Driver:
    return Driver(
        phase=phase,
        house={"enabled": False},
        retail={"enabled": False},
        execution={"self_trade": mode},
    )


def test_the_rebate_farm_earns_nothing() -> None:
    """Maker +0.02 > taker -0.01: 13 round trips of 50 earned $6.50 before."""
    d = bots()
    mm = d.team("farmer", "market_maker")
    for _ in range(13):
        for rest, take, price in (("sell", "buy", 2550), ("buy", "sell", 2450)):
            d.order(mm, rest, 50, price, advance=0.2)  # within the 10 orders/s
            d.order(mm, take, 50, price, advance=0.2)
    fills = [e for e in d.log if isinstance(e, Trade)]
    assert len(fills) == 26
    assert all(f.self_trade and f.maker_fee == f.taker_fee == 0 for f in fills)
    account = d.core.teams[mm]
    assert account.fees_received == account.fees_paid == 0
    assert account.positions.get(CALL, 0) == 0
    assert account.cash == 0  # it paid itself: every notional nets out, and no fee moved


def test_a_trade_between_two_teams_is_not_a_self_trade() -> None:
    d = bots()
    a, b = d.team("alpha", "market_maker"), d.team("bravo", "market_maker")
    d.order(a, "sell", 2, 2500)
    [fill] = trades(d.order(b, "buy", 2, 2500))
    assert (fill.self_trade, fill.maker_fee, fill.taker_fee) == (False, 4, -2)


def test_prevent_cancels_the_incoming_remainder_at_the_teams_own_order() -> None:
    d = bots("prevent")
    mm, other = d.team("maker", "market_maker"), d.team("other", "market_maker")
    own = d.order_id(d.order(mm, "sell", 5, 2500))
    d.order(other, "sell", 3, 2490)
    events = d.order(mm, "buy", 10, 2500)
    assert [(f.maker_team_id, f.quantity, f.price) for f in trades(events)] == [(other, 3, 2490)]
    [cancel] = [e for e in events if isinstance(e, OrderCancelled)]
    assert (cancel.reason, cancel.cancelled_quantity) == ("self_trade_prevented", 7)
    assert d.core.orders[own].remaining == 5  # the resting order stays
    assert d.core.books[CALL].bids.best() is None  # the incoming rest never rests


def test_prevent_in_the_auction_cancels_the_later_order() -> None:
    d = bots("prevent", phase="pre_open")
    d.market.fair_values[CALL] = 2520
    mm = d.team("maker", "market_maker")
    bid = d.order_id(d.order(mm, "buy", 10, 2550))
    ask = d.order_id(d.order(mm, "sell", 6, 2500))
    events = d.run(ChangePhase(phase="opening_auction"))
    assert not trades(events)
    cancels = [(e.order_id, e.reason) for e in events if isinstance(e, OrderCancelled)]
    assert cancels == [(ask, "self_trade_prevented")]
    assert d.core.orders[bid].remaining == 10


def test_allow_in_the_auction_marks_the_self_trade_and_charges_nothing() -> None:
    d = bots(phase="pre_open")
    d.market.fair_values[CALL] = 2520
    mm = d.team("maker", "market_maker")
    d.order(mm, "buy", 10, 2550)
    d.order(mm, "sell", 6, 2500)
    [fill] = trades(d.run(ChangePhase(phase="opening_auction")))
    assert (fill.quantity, fill.self_trade, fill.maker_fee, fill.taker_fee) == (6, True, 0, 0)
