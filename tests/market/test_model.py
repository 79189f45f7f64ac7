"""The simulated market, statistically: fixed seeds, long runs, generous tolerances.

Each tolerance is loose enough for sampling noise and tight enough that a broken model
(a wrong dt, a dropped lag, a forecast that ignores the path) fails.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from engine.config import Config, load
from engine.instruments import build
from engine.market import SimQuote, TickOutput, TrackingError, VolForecast, pricing
from engine.market.model import TRADING_SECONDS_PER_YEAR
from engine.market.simulator import MIN_YEARS, Market
from tests.market.views import FlatView

PINNED = {"low": (1.0, 0.0, 0.0), "medium": (0.0, 1.0, 0.0), "high": (0.0, 0.0, 1.0)}
NO_NEWS = {"mean_gap_sim_seconds": 1e15}


def market(config: Config, seed: int = 1) -> Market:
    return Market(config, seed, build(config))


def run(
    m: Market, ticks: int, phase: str = "continuous", view: FlatView | None = None
) -> list[TickOutput]:
    view = view or FlatView()
    return [m.on_tick(t, phase, view) for t in range(1, ticks + 1)]


@pytest.mark.parametrize("regime", ["low", "medium", "high"])
def test_realised_volatility_per_regime(regime: str) -> None:
    config = load(
        None,
        regimes={"transitions": PINNED, "initial": regime},
        news=NO_NEWS,
        house={"enabled": False},
        retail={"enabled": False},
    )
    m = market(config, seed=5)
    prices = [m.model.spx]
    for t in range(1, 20_001):
        m.on_tick(t, "closed", FlatView())
        prices.append(m.model.spx)
    returns = [math.log(b / a) for a, b in itertools.pairwise(prices)]
    realised = statistics.pstdev(returns) / math.sqrt(m.model.dt)
    assert realised == pytest.approx(config.regimes.vols[regime], rel=0.15)


def test_spy_tracks_spx_over_a_trading_day() -> None:
    """Per tick, the lag and the tracking noise dominate by design; over a day they don't."""
    config = load(None, news=NO_NEWS, house={"enabled": False}, retail={"enabled": False})
    m = market(config, seed=9)
    spx, spy = [m.model.spx], [m.model.spy]
    for t in range(1, 39_001):
        m.on_tick(t, "closed", FlatView())
        spx.append(m.model.spx)
        spy.append(m.model.spy)
    day = 390
    rx = [math.log(spx[i + day] / spx[i]) for i in range(0, len(spx) - day, day)]
    ry = [math.log(spy[i + day] / spy[i]) for i in range(0, len(spy) - day, day)]
    assert statistics.correlation(rx, ry) > 0.95


def test_hedge_fund_forecasts_are_right_two_times_in_three() -> None:
    config = load(None, news=NO_NEWS, house={"enabled": False}, retail={"enabled": False})
    m = market(config, seed=3)
    regimes: dict[int, str] = {}
    forecasts: list[tuple[int, VolForecast]] = []
    t = 0
    while len(forecasts) < 2200:
        t += 1
        out = m.on_tick(t, "closed", FlatView())
        regimes[t] = m.model.regime
        forecasts += [(t, f) for f in out.vol_forecasts]
    for _ in range(10):  # let the last forecasts come true (or not)
        t += 1
        m.on_tick(t, "closed", FlatView())
        regimes[t] = m.model.regime
    right = [regimes[at + f.ticks_until_change] == f.forecast for at, f in forecasts]
    assert sum(right) / len(right) == pytest.approx(0.66, abs=0.05)
    assert all(1 <= f.ticks_until_change <= 5 for _, f in forecasts)
    assert all(
        f.forecast != f.current_regime or not r for (_, f), r in zip(forecasts, right, strict=True)
    )


def test_arbitrage_signals_are_right_four_times_in_five() -> None:
    config = load(None, news=NO_NEWS, house={"enabled": False}, retail={"enabled": False})
    m = market(config, seed=4)
    signals: list[TrackingError] = []
    t = 0
    while len(signals) < 2500:
        t += 1
        signals += list(m.on_tick(t, "closed", FlatView()).tracking)
    right = [
        s.direction == ("SPY_RICH" if s.tracking_error_bps > 0 else "SPY_CHEAP") for s in signals
    ]
    assert sum(right) / len(right) == pytest.approx(0.80, abs=0.05)
    assert all(abs(s.tracking_error_bps) >= 15 for s in signals)  # only above the 0.15% threshold


def test_retail_sends_three_orders_a_tick_on_average() -> None:
    config = load(None, news=NO_NEWS, house={"enabled": False})
    outputs = run(market(config, seed=6), 5_000)
    counts = [len(o.orders) for o in outputs]
    assert statistics.fmean(counts) == pytest.approx(3.0, abs=0.2)
    assert max(counts) <= 10
    orders = [order for o in outputs for order in o.orders]
    assert all(1 <= order.quantity <= 50 for order in orders)
    assert all(order.price is None or order.price >= 1 for order in orders)
    sides = Counter(order.side for order in orders)
    assert sides["buy"] / len(orders) == pytest.approx(0.5, abs=0.05)
    market_share = sum(order.order_type == "market" for order in orders) / len(orders)
    assert market_share == pytest.approx(0.4, abs=0.05)


def test_retail_stays_within_its_maximum_position() -> None:
    config = load(None, news=NO_NEWS, house={"enabled": False})
    outputs = run(market(config, seed=6), 500, view=FlatView(total=48))
    per_team: Counter[str] = Counter()
    for out in outputs:
        tick: Counter[str] = Counter()
        for order in out.orders:
            tick[order.team_id] += order.quantity
        assert all(q <= 2 for q in tick.values())
        per_team.update(tick)
    assert per_team  # some flow still fits


def test_no_flow_or_quotes_when_orders_are_not_accepted() -> None:
    config = load(None, news=NO_NEWS)
    for phase in ("closed", "opening_auction"):
        outputs = run(market(config), 50, phase=phase)
        assert not any(o.orders or o.quotes for o in outputs)


def test_news_kinds_follow_the_40_30_30_mix() -> None:
    config = load(
        None,
        news={"mean_gap_sim_seconds": 30.0},
        house={"enabled": False},
        retail={"enabled": False},
    )
    outputs = run(market(config, seed=8), 6_000, phase="closed")
    kinds = Counter(n.effect for o in outputs for n in o.news)
    total = sum(kinds.values())
    assert total > 3_000
    assert kinds["regime_shift"] / total == pytest.approx(0.4, abs=0.05)
    assert kinds["price_jump"] / total == pytest.approx(0.3, abs=0.05)
    assert kinds["none"] / total == pytest.approx(0.3, abs=0.05)
    jumps = [n.jump_bps for o in outputs for n in o.news if n.jump_bps is not None]
    assert all(50 <= abs(j) <= 200 for j in jumps)


def test_news_arrives_at_the_configured_mean_gap() -> None:
    config = load(None, house={"enabled": False}, retail={"enabled": False})
    outputs = run(market(config, seed=2), 40_000, phase="closed")
    ticks = [i for i, o in enumerate(outputs) if o.news]
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    expected = config.news.mean_gap_sim_seconds / config.schedule.sim_seconds_per_tick
    assert statistics.fmean(gaps) == pytest.approx(expected, rel=0.2)


def test_black_scholes_known_values_and_parity() -> None:
    assert pricing.price(100, 100, 1.0, 0.2, True) == pytest.approx(7.9656, abs=1e-3)
    for strike in (80, 95, 100, 105, 130):
        call = pricing.price(100, strike, 0.5, 0.3, True)
        put = pricing.price(100, strike, 0.5, 0.3, False)
        assert call - put == pytest.approx(100 - strike, abs=1e-9)
        assert 0 < pricing.delta(100, strike, 0.5, 0.3, True) < 1
        assert -1 < pricing.delta(100, strike, 0.5, 0.3, False) < 0
    assert pricing.gamma(100, 100, 0.5, 0.3) > 0
    assert pricing.vega(100, 100, 0.5, 0.3) > 0


def test_house_quotes_pass_the_spread_rule_everywhere() -> None:
    config = load(None, retail={"enabled": False})
    quotes: list[SimQuote] = [q for o in run(market(config), 200) for q in o.quotes]
    assert {q.instrument_id for q in quotes} >= {"SPX", "SPY", "SPX_4400_CALL"}
    for q in quotes:
        assert 1 <= q.bid_price < q.ask_price
        assert (q.ask_price - q.bid_price) * 20 <= q.ask_price + q.bid_price
        assert q.bid_size == q.ask_size == config.house.size


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    config = load(None)
    encode = msgspec.msgpack.encode
    a = [encode(o) for o in run(market(config, seed=21), 500)]
    b = [encode(o) for o in run(market(config, seed=21), 500)]
    c = [encode(o) for o in run(market(config, seed=22), 500)]
    assert a == b
    assert a != c


def test_teams_follow_the_switches() -> None:
    assert [t.team_id for t in market(load(None)).teams()][:2] == ["TEAM_HOUSE", "TEAM_RETAIL_1"]
    assert not market(load(None, house={"enabled": False}, retail={"enabled": False})).teams()
    only_house = market(load(None, retail={"enabled": False})).teams()
    assert [(t.team_id, t.exempt_from_limits) for t in only_house] == [("TEAM_HOUSE", True)]


def test_the_order_of_keys_in_the_config_does_not_change_the_session() -> None:
    """The session record stores the config as JSON with sorted keys; the config a
    process loaded may list them in another order. Both must run the same session."""
    base = load(None, news={"mean_gap_sim_seconds": 60.0})
    reordered = dict(reversed(list(base.news.kind_weights.items())))
    other = msgspec.structs.replace(
        base, news=msgspec.structs.replace(base.news, kind_weights=reordered)
    )
    assert list(other.news.kind_weights) != list(base.news.kind_weights)
    a = run(market(base, seed=7), 300)
    b = run(market(other, seed=7), 300)
    assert sum(len(o.news) for o in a) > 50
    assert [msgspec.msgpack.encode(o) for o in a] == [msgspec.msgpack.encode(o) for o in b]


@pytest.mark.parametrize("profile", ["demo", "competition"])
def test_a_whole_session_ends_before_the_weekly_expiry(profile: str, tmp_path: Path) -> None:
    """Past expiry every option would sit at the model's one-hour floor for the rest of
    the session (the demo once did so from tick ~1950 of 3603)."""
    path = tmp_path / "c.toml"
    path.write_text(f"[schedule]\nprofile = '{profile}'\n")
    config = load(path)
    s = config.schedule
    session = (s.pre_open_ticks + s.auction_ticks + s.continuous_ticks) * s.sim_seconds_per_tick
    market = Market(config, 1, build(config))
    left = market.expiry_years - session / TRADING_SECONDS_PER_YEAR
    assert left > MIN_YEARS
