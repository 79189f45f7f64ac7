"""The world's dynamics, seen through ``TickOutput`` only: regimes, SPY's lag and tracking."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter

import pytest

from engine.config import Config, load
from engine.instruments import build
from engine.market import TickOutput
from engine.market.simulator import Market
from tests.market.views import FlatView

NO_NEWS = {"mean_gap_sim_seconds": 1e15}
PINNED_HIGH = {"low": (1.0, 0.0, 0.0), "medium": (0.0, 1.0, 0.0), "high": (0.0, 0.0, 1.0)}


def quiet(**overrides: object) -> Config:
    return load(
        None, news=NO_NEWS, house={"enabled": False}, retail={"enabled": False}, **overrides
    )


def run(config: Config, ticks: int, seed: int) -> list[TickOutput]:
    m = Market(config, seed, build(config))
    return [m.on_tick(t, "closed", FlatView()) for t in range(1, ticks + 1)]


def test_regimes_follow_the_transition_matrix() -> None:
    config = quiet()
    regimes = [o.regime for o in run(config, 30_000, seed=12)]
    moves = Counter(itertools.pairwise(regimes))
    for origin, row in config.regimes.transitions.items():
        total = sum(moves[(origin, to)] for to in ("low", "medium", "high"))
        assert total > 3_000, origin
        for to, p in zip(("low", "medium", "high"), row, strict=True):
            assert moves[(origin, to)] / total == pytest.approx(p, abs=0.015), (origin, to)


@pytest.mark.parametrize("lag", [1, 2])
def test_spy_follows_spx_with_the_configured_lag(lag: int) -> None:
    config = quiet(
        tracking={"lag_ticks": lag},
        regimes={"transitions": PINNED_HIGH, "initial": "high"},
    )
    outputs = run(config, 6_000, seed=13)
    rx = [math.log(b.spx / a.spx) for a, b in itertools.pairwise(outputs)]
    ry = [math.log(b.spy / a.spy) for a, b in itertools.pairwise(outputs)]
    n = len(rx) - 4
    by_lag = {k: statistics.correlation(rx[4 - k : 4 - k + n], ry[4 : 4 + n]) for k in range(4)}
    assert max(by_lag, key=lambda k: by_lag[k]) == lag
    assert by_lag[lag] > 0.5


def test_tracking_error_has_the_configured_size_and_half_life() -> None:
    config = quiet()
    t = config.tracking
    outputs = run(config, 20_000, seed=14)
    gaps = [
        b.spy / (a.spx / 10) - 1
        for a, b in zip(outputs[: -t.lag_ticks], outputs[t.lag_ticks :], strict=True)
    ]
    expected_std = math.sqrt(t.error_std**2 + t.noise**2)
    assert statistics.pstdev(gaps) == pytest.approx(expected_std, rel=0.15)
    h = round(t.half_life_ticks)
    autocorr = statistics.correlation(gaps[:-h], gaps[h:])
    # the AR(1) part halves in half_life ticks; the white noise part does not carry over
    expected = 0.5 ** (h / t.half_life_ticks) * t.error_std**2 / expected_std**2
    assert autocorr == pytest.approx(expected, abs=0.08)
