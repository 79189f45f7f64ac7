"""Black-Scholes with no rates or dividends, as the exchange values its options
(docs/rules.md, "Fair value"), and the time left to expiry in the demo timetable."""

from __future__ import annotations

import math

YEAR_SECONDS = 252 * 6.5 * 3600  # trading days of 6.5 hours
MIN_YEARS = 3600 / YEAR_SECONDS  # the model never comes closer to expiry than an hour


def years_left(tick: int, expiry_days: float = 5, sim_seconds_per_tick: float = 30) -> float:
    """The options' time to expiry in years at a tick, with the demo timetable's defaults."""
    return max(expiry_days / 252 - tick * sim_seconds_per_tick / YEAR_SECONDS, MIN_YEARS)


def _cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _d1(spot: float, strike: float, years: float, vol: float) -> float:
    return (math.log(spot / strike) + vol * vol * years / 2) / (vol * math.sqrt(years))


def price(spot: float, strike: float, years: float, vol: float, call: bool) -> float:
    """The Black-Scholes price of a call or put (no rates, no dividends)."""
    d1 = _d1(spot, strike, years, vol)
    d2 = d1 - vol * math.sqrt(years)
    c = spot * _cdf(d1) - strike * _cdf(d2)
    return c if call else c - spot + strike  # put-call parity


def delta(spot: float, strike: float, years: float, vol: float, call: bool) -> float:
    """The Black-Scholes delta of a call or put per unit of underlying."""
    d = _cdf(_d1(spot, strike, years, vol))
    return d if call else d - 1


def implied_vol(target: float, spot: float, strike: float, years: float, call: bool) -> float:
    """The volatility whose price is ``target``, by bisection (prices rise with vol)."""
    low, high = 0.01, 3.0
    for _ in range(60):
        mid = (low + high) / 2
        if price(spot, strike, years, mid, call) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2
