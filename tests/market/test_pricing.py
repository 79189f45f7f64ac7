"""Black-Scholes (r = 0) against closed forms, an independent integral, parity and greeks."""

from __future__ import annotations

import math

import pytest

from engine.market import pricing


def integrated_call(spot: float, strike: float, years: float, vol: float) -> float:
    """E[max(S_T - K, 0)] under the lognormal law with zero drift, by Simpson's rule.

    Integrated over the standard normal z from where the option ends in the money (the
    payoff is smooth there) to 12 standard deviations: independent of the closed form.
    """
    sd = vol * math.sqrt(years)
    lo, hi, n = (math.log(strike / spot) + 0.5 * sd * sd) / sd, 12.0, 4000
    h = (hi - lo) / n
    total = 0.0
    for i in range(n + 1):
        z = lo + i * h
        s_t = spot * math.exp(-0.5 * sd * sd + sd * z)
        weight = 1 if i in (0, n) else (4 if i % 2 else 2)
        total += weight * (s_t - strike) * pricing.norm_pdf(z)
    return total * h / 3


def test_textbook_at_the_money_value() -> None:
    # r = 0, S = K = 100, T = 1, vol 20%: C = S (2 N(vol sqrt(T) / 2) - 1) = 7.965567...
    assert pricing.price(100, 100, 1.0, 0.2, call=True) == pytest.approx(7.965567455, abs=1e-8)
    assert pricing.price(100, 100, 1.0, 0.2, call=False) == pytest.approx(7.965567455, abs=1e-8)


@pytest.mark.parametrize(
    ("spot", "strike", "years", "vol"),
    [(100, 95, 0.25, 0.3), (4400, 4500, 5 / 252, 0.2), (440, 420, 2 / 252, 0.5), (50, 80, 1, 0.1)],
)
def test_call_matches_the_expectation_it_stands_for(
    spot: float, strike: float, years: float, vol: float
) -> None:
    expected = integrated_call(spot, strike, years, vol)
    assert pricing.price(spot, strike, years, vol, call=True) == pytest.approx(
        expected, rel=1e-6, abs=1e-9
    )


@pytest.mark.parametrize(("spot", "strike"), [(4400, 4200), (4400, 4400), (4400, 4600), (440, 460)])
@pytest.mark.parametrize("vol", [0.1, 0.2, 0.5])
def test_put_call_parity(spot: float, strike: float, vol: float) -> None:
    call = pricing.price(spot, strike, 5 / 252, vol, call=True)
    put = pricing.price(spot, strike, 5 / 252, vol, call=False)
    assert call - put == pytest.approx(spot - strike, abs=1e-8)
    assert call > 0
    assert put > 0


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize("strike", [4200.0, 4400.0, 4600.0])
def test_greeks_are_the_derivatives_of_the_price(call: bool, strike: float) -> None:
    s, t, v, h = 4400.0, 5 / 252, 0.2, 0.01
    up, down = pricing.price(s + h, strike, t, v, call), pricing.price(s - h, strike, t, v, call)
    assert pricing.delta(s, strike, t, v, call) == pytest.approx((up - down) / (2 * h), abs=1e-6)
    d_up = pricing.delta(s + h, strike, t, v, call)
    d_down = pricing.delta(s - h, strike, t, v, call)
    assert pricing.gamma(s, strike, t, v) == pytest.approx((d_up - d_down) / (2 * h), rel=1e-4)
    dv = 1e-5
    numeric_vega = (
        pricing.price(s, strike, t, v + dv, call) - pricing.price(s, strike, t, v - dv, call)
    ) / (2 * dv)
    assert pricing.vega(s, strike, t, v) == pytest.approx(numeric_vega, rel=1e-5)


def test_delta_bounds_and_call_put_relation() -> None:
    c = pricing.delta(4400, 4500, 0.05, 0.2, call=True)
    p = pricing.delta(4400, 4500, 0.05, 0.2, call=False)
    assert 0 < c < 1
    assert -1 < p < 0
    assert c - p == pytest.approx(1.0)


def test_expired_or_volatility_free_options_are_worth_their_intrinsic_value() -> None:
    assert pricing.price(4400, 4300, 0.0, 0.2, call=True) == 100
    assert pricing.price(4400, 4300, 0.0, 0.2, call=False) == 0
    assert pricing.price(4400, 4500, 1.0, 0.0, call=False) == 100
    assert pricing.delta(4400, 4300, 0.0, 0.2, call=True) == 1.0
    assert pricing.delta(4400, 4300, 0.0, 0.2, call=False) == 0.0
    assert pricing.delta(4400, 4500, 0.0, 0.2, call=False) == -1.0
    assert pricing.gamma(4400, 4300, 0.0, 0.2) == 0.0
    assert pricing.vega(4400, 4300, 0.0, 0.2) == 0.0
