"""The price band (SPEC "Matching"), at its exact edges, through a tick and against the
simulated market, and the $10M transfer of issue 9 made impossible."""

from __future__ import annotations

from typing import Any

import pytest

from engine.core.exchange import default_market
from engine.records import (
    ChangePhase,
    ClockTick,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    SubmitQuote,
    Trade,
)
from tests.core.fakes import Driver

CALL = "SPX_4400_CALL"


def banded(phase: str = "continuous", **limits: Any) -> Driver:
    return Driver(
        phase=phase,
        house={"enabled": False},
        retail={"enabled": False},
        price_limits={"enabled": True, **limits},
    )


def outcome(events: list[Event]) -> str:
    for e in events:
        if isinstance(e, OrderRejected):
            return f"{e.code}:{e.details.get('reason')}"
    return "accepted"


def set_fair(d: Driver, iid: str, fair: int) -> None:
    d.market.fair_values[iid] = fair
    d.run(ClockTick(), advance=1.0)


@pytest.mark.parametrize(
    ("iid", "fair", "low", "high"),
    [
        (CALL, 2500, 2000, 3000),  # 20% of 25.00
        (CALL, 1513, 1211, 1815),  # 20% is 3.026: the edge is the last whole cent inside
        (CALL, 100, 50, 150),  # 20% is 0.20 < the 0.50 floor of options
        (CALL, 30, 1, 80),  # never under one tick
        ("SPY", 100, 80, 120),  # no floor for an underlying
    ],
)
def test_the_band_edges_are_inside_and_one_cent_beyond_is_refused(
    iid: str, fair: int, low: int, high: int
) -> None:
    d = banded()
    buyer, seller = d.team("buyer"), d.team("seller")
    set_fair(d, iid, fair)
    assert d.core.bands[iid] == (low, high)
    assert outcome(d.order(buyer, "buy", 1, low, iid)) == "accepted"
    assert outcome(d.order(seller, "sell", 1, high, iid)) == "accepted"
    if low > 1:
        assert outcome(d.order(buyer, "buy", 1, low - 1, iid)) == "INVALID_PRICE:out_of_band"
    assert outcome(d.order(seller, "sell", 1, high + 1, iid)) == "INVALID_PRICE:out_of_band"


def test_the_refusal_names_the_band_in_dollars() -> None:
    d = banded()
    [rejected] = d.order(d.team("seller"), "sell", 1, 3001)
    assert isinstance(rejected, OrderRejected)
    assert rejected.code == "INVALID_PRICE"
    assert rejected.details == {"reason": "out_of_band", "min": 20.0, "max": 30.0, "price": 30.01}


def test_a_marketable_price_beyond_the_band_trades_only_inside_it_and_never_rests() -> None:
    d = banded()
    maker, taker = d.team("maker"), d.team("taker")
    d.order(maker, "sell", 3, 2900)
    events = d.order(taker, "buy", 5, 5000)
    assert [e.price for e in events if isinstance(e, Trade)] == [2900]
    [cancel] = [e for e in events if isinstance(e, OrderCancelled)]
    assert (cancel.reason, cancel.cancelled_quantity) == ("out_of_band", 2)
    assert d.core.books[CALL].bids.best() is None
    # a sell below the band the same way
    d.order(maker, "buy", 2, 2100)
    events = d.order(taker, "sell", 4, 1)
    assert [e.price for e in events if isinstance(e, Trade)] == [2100]
    assert d.core.books[CALL].asks.best() is None


def test_through_band_refuse_and_outside_continuous_trading_refuse_it() -> None:
    d = banded(through_band="refuse")
    assert outcome(d.order(d.team("taker"), "buy", 1, 3001)) == "INVALID_PRICE:out_of_band"
    d = banded(phase="pre_open")
    assert outcome(d.order(d.team("taker"), "buy", 1, 3001)) == "INVALID_PRICE:out_of_band"


def test_a_quote_with_a_side_outside_the_band_is_refused() -> None:
    d = banded()
    mm = d.team("maker", "market_maker")

    def quote(bid: int, ask: int) -> str:
        return outcome(
            d.run(
                SubmitQuote(
                    team_id=mm,
                    instrument_id=CALL,
                    bid_price=bid,
                    bid_size=1,
                    ask_price=ask,
                    ask_size=1,
                )
            )
        )

    assert quote(2900, 3000) == "accepted"
    assert quote(2900, 3001) == "INVALID_PRICE:out_of_band"
    assert quote(2000, 2100) == "accepted"
    assert quote(1999, 2100) == "INVALID_PRICE:out_of_band"


def test_orders_a_tick_leaves_outside_the_band_are_cancelled_before_anything_trades() -> None:
    d = banded()
    fund = d.team("fund")
    far = d.order_id(d.order(fund, "buy", 4, 2100))
    near = d.order_id(d.order(fund, "buy", 4, 2300))
    d.market.fair_values[CALL] = 2800  # band 22.40-33.60: the bid at 21.00 is left below it
    events = d.run(ClockTick(), advance=1.0)
    cancels = [(e.order_id, e.reason) for e in events if isinstance(e, OrderCancelled)]
    assert cancels == [(far, "out_of_band")]
    assert near in d.core.orders


def test_a_market_order_meets_only_banded_prices() -> None:
    d = banded()
    maker, taker = d.team("maker"), d.team("taker")
    for price in (2600, 2800, 3000):
        d.order(maker, "sell", 1, price)
    assert outcome(d.order(maker, "sell", 1, 3100)) == "INVALID_PRICE:out_of_band"
    fills = [e.price for e in d.order(taker, "buy", 10, None) if isinstance(e, Trade)]
    assert fills == [2600, 2800, 3000]


def test_without_a_fair_value_there_is_no_band_and_only_max_price_applies() -> None:
    d = banded()
    del d.market.fair_values[CALL]
    d.run(ClockTick(), advance=1.0)
    assert d.core.bands[CALL] is None
    assert outcome(d.order(d.team("fund"), "sell", 1, 1_000_000)) == "accepted"


def test_the_band_can_be_switched_off() -> None:
    d = Driver(house={"enabled": False}, retail={"enabled": False})  # the tests' default
    assert outcome(d.order(d.team("fund"), "sell", 1, 9_999_999)) == "accepted"


def test_the_ten_million_dollar_transfer_is_impossible() -> None:
    """Issue 9 item 2: sell 1 SPX_4600_CALL at 99,999.99 against a colluding team's buy."""
    d = Driver(market=default_market, house={"enabled": False}, retail={"enabled": False},
               price_limits={"enabled": True})  # fmt: skip
    giver, taker = d.team("giver"), d.team("taker")
    iid = "SPX_4600_CALL"
    # the collusion both ways round: the absurd bid first, then the absurd ask first
    bid = d.order(taker, "buy", 1, 9_999_999, iid)
    assert [e.reason for e in bid if isinstance(e, OrderCancelled)] == ["out_of_band"]
    assert outcome(d.order(giver, "sell", 1, 9_999_999, iid)) == "INVALID_PRICE:out_of_band"
    assert outcome(d.order(taker, "buy", 1, 9_999_999, iid)) == "accepted"  # nothing to take
    assert not [e for e in d.log if isinstance(e, Trade)]
    assert d.core.teams[giver].cash == d.core.teams[taker].cash == 0


@pytest.mark.parametrize("seed_news", [1e12, 120.0])
def test_the_house_and_the_retail_flow_are_never_refused_by_the_band(seed_news: float) -> None:
    """The real market for hundreds of ticks, with a bot pinning the touch to the band's
    edges so the retail flow's aggressive prices (1% through the touch) meet them."""
    d = Driver(
        phase="pre_open",
        market=default_market,
        price_limits={"enabled": True},
        news={"mean_gap_sim_seconds": seed_news},
        retail={"orders_per_tick": 8.0},
    )
    edge = d.team("edge", "arbitrage")
    d.run(ClockTick(), advance=1.0)
    d.run(ChangePhase(phase="continuous"))
    options = [iid for iid, inst in d.core.instruments.items() if inst.is_option]
    for tick in range(300):
        d.run(ClockTick(), advance=1.0)
        iid = options[tick % len(options)]
        limits = d.core.bands[iid]
        assert limits is not None
        d.order(edge, "sell" if tick % 2 else "buy", 1, limits[1] if tick % 2 else limits[0], iid)
    simulated = {t for t, a in d.core.teams.items() if not a.api_key_hash}
    refused = [e for e in d.log if isinstance(e, OrderRejected) and e.team_id in simulated]
    assert refused == []
    accepted = [e for e in d.log if isinstance(e, OrderAccepted) and e.team_id in simulated]
    assert len(accepted) > 1000  # the flow and the house did trade all along
