"""Retail flow against a book and against positions that really fill."""

from __future__ import annotations

from collections import Counter

import pytest

from engine.config import load
from engine.instruments import build
from engine.market import SimOrder, TickOutput
from engine.market.simulator import Market

NO_NEWS = {"mean_gap_sim_seconds": 1e15}


class BookView:
    """A book two percent either side of the market's fair value; positions that fill."""

    def __init__(self, market: Market, spread: float = 0.02) -> None:
        self.market = market
        self.spread = spread
        self.positions: dict[str, dict[str, int]] = {}

    def best_bid(self, instrument_id: str) -> tuple[int, int] | None:
        fair = self.market.fair()[instrument_id]
        return (round(fair * (1 - self.spread)), 10)

    def best_ask(self, instrument_id: str) -> tuple[int, int] | None:
        fair = self.market.fair()[instrument_id]
        return (round(fair * (1 + self.spread)), 10)

    def position(self, team_id: str, instrument_id: str) -> int:
        return self.positions.get(team_id, {}).get(instrument_id, 0)

    def total_position(self, team_id: str) -> int:
        return sum(abs(q) for q in self.positions.get(team_id, {}).values())

    def fill(self, orders: tuple[SimOrder, ...]) -> None:
        for o in orders:
            held = self.positions.setdefault(o.team_id, {})
            held[o.instrument_id] = held.get(o.instrument_id, 0) + (
                o.quantity if o.side == "buy" else -o.quantity
            )


def session(ticks: int, phase: str = "continuous", fill: bool = False) -> list[TickOutput]:
    config = load(None, news=NO_NEWS, house={"enabled": False})
    m = Market(config, 31, build(config))
    view = BookView(m)
    outputs = []
    for t in range(1, ticks + 1):
        out = m.on_tick(t, phase, view)
        if fill:
            view.fill(out.orders)
            assert all(view.total_position(team) <= 50 for team in view.positions)
        outputs.append(out)
    return outputs


def test_limit_prices_are_aggressive_passive_or_far_in_the_configured_shares() -> None:
    styles: Counter[str] = Counter()
    for out in session(4_000):
        for o in out.orders:
            fair = out.fair[o.instrument_id]
            if o.price is None or fair < 2_000:
                continue
            bid, ask = round(fair * 0.98), round(fair * 1.02)
            price = o.price if o.side == "buy" else 2 * fair - o.price  # mirror sells
            touch, near = (ask, bid) if o.side == "buy" else (2 * fair - bid, 2 * fair - ask)
            if price >= touch:
                styles["aggressive"] += 1
            elif near - 1 <= price < touch:
                styles["passive"] += 1
            elif price <= fair * 0.95 + 1:
                styles["far"] += 1
            else:
                styles["other"] += 1
    total = sum(styles.values())
    assert total > 1_000
    assert styles["other"] == 0
    assert styles["aggressive"] / total == pytest.approx(0.3, abs=0.04)
    assert styles["passive"] / total == pytest.approx(0.5, abs=0.04)
    assert styles["far"] / total == pytest.approx(0.2, abs=0.04)


def test_calls_and_out_of_the_money_options_in_the_configured_shares() -> None:
    instruments = build(load(None))
    kinds: Counter[str] = Counter()
    otm = 0
    orders = [(out, o) for out in session(3_000) for o in out.orders]
    for out, o in orders:
        inst = instruments[o.instrument_id]
        assert inst.strike is not None
        kinds[inst.kind] += 1
        spot = out.fair[inst.underlying]
        otm += inst.strike > spot if inst.kind == "call" else inst.strike < spot
    assert kinds["call"] / len(orders) == pytest.approx(0.6, abs=0.04)
    assert otm / len(orders) == pytest.approx(0.7, abs=0.05)


def test_pre_open_takes_no_market_orders() -> None:
    orders = [o for out in session(500, phase="pre_open") for o in out.orders]
    assert orders
    assert all(o.order_type == "limit" and o.price is not None for o in orders)


def test_filled_retail_teams_stay_within_the_cap_and_keep_trading() -> None:
    outputs = session(3_000, fill=True)  # the session asserts the cap after every tick
    late = [o for out in outputs[-500:] for o in out.orders]
    assert len(late) > 500  # at the cap, orders that unwind still go out
