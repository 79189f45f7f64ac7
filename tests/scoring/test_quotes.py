"""A market maker's price levels (``Quotes``) against its resting orders.

Coverage reads the levels, kept as orders rest, fill and leave; the levels must always
be what the resting orders add up to, and coverage what the orders themselves give.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import QuotesConfig, QuoteWidth
from gateway.scoring import kpis
from gateway.scoring.team_score import Quotes, Resting

INSTRUMENTS = ("SPX_4200_PUT", "SPX_4300_CALL", "SPY_440_CALL")
COVER = {"SPX_4200_PUT": 0, "SPX_4300_CALL": 0}


def levels_of(orders: dict[int, Resting]) -> Quotes:
    """The levels written out from the orders, from nothing."""
    quotes = Quotes()
    for order in orders.values():
        side = quotes.bids if order.buy else quotes.asks
        levels = side.setdefault(order.instrument_id, {})
        levels[order.price] = levels.get(order.price, 0) + order.remaining
    return quotes


def covered_by_orders(orders: dict[int, Resting], rule: QuotesConfig, min_size: int) -> int:
    """Coverage as SPEC words it: best bid and ask of the orders, size at each best."""
    count = 0
    for iid in COVER:
        bids = [o for o in orders.values() if o.instrument_id == iid and o.buy]
        asks = [o for o in orders.values() if o.instrument_id == iid and not o.buy]
        if not bids or not asks:
            continue
        bid = max(o.price for o in bids)
        ask = min(o.price for o in asks)
        bid_size = sum(o.remaining for o in bids if o.price == bid)
        ask_size = sum(o.remaining for o in asks if o.price == ask)
        share = (ask - bid) * 20_000 <= rule.max_spread_bps * (ask + bid)
        table = any(bid < row.below for row in rule.widths[:1]) and (
            ask - bid <= rule.widths[0].spread
        )  # the tests' tables have one row
        if bid_size >= min_size and ask_size >= min_size and ask > bid and (share or table):
            count += 1
    return count


step = st.one_of(
    st.tuples(
        st.just("rest"),
        st.sampled_from(INSTRUMENTS),
        st.booleans(),
        st.integers(min_value=95, max_value=105),
        st.integers(min_value=1, max_value=5),
    ),
    st.tuples(st.just("fill"), st.integers(min_value=0), st.integers(min_value=1, max_value=5)),
    st.tuples(st.just("cancel"), st.integers(min_value=0)),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(step, max_size=60),
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=0, max_value=6),
)
def test_levels_are_the_resting_orders_and_coverage_reads_them(
    steps: list[tuple[Any, ...]], max_spread_bps: int, floor: int
) -> None:
    # a width table row across the prices the steps use: bids under 100 may be ``floor`` wide
    rule = QuotesConfig(
        max_spread_bps=max_spread_bps, widths=(QuoteWidth(below=100, spread=floor),)
    )
    orders: dict[int, Resting] = {}
    quotes = Quotes()
    for number, action in enumerate(steps):
        if action[0] == "rest":
            _, iid, buy, price, quantity = action
            order = Resting(iid, buy, price, quantity)
            orders[number] = order
            quotes.add(order)
        elif orders:
            key = sorted(orders)[action[1] % len(orders)]
            order = orders[key]
            if action[0] == "fill":
                traded = min(action[2], order.remaining)
                quotes.remove(order, traded)
                order.remaining -= traded
                if not order.remaining:
                    del orders[key]
            else:
                quotes.remove(order, order.remaining)
                del orders[key]
        assert quotes == levels_of(orders)
        for min_size in (1, 3):
            expected = covered_by_orders(orders, rule, min_size)
            assert kpis.covered(quotes, COVER, rule, min_size) == expected
    if not orders:
        assert quotes == Quotes()  # nothing empty is kept
