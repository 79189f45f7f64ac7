"""Black-Scholes for European options (r = 0): price, delta, gamma, vega.

Per unit of the underlying (multiply by the contract multiplier for a contract). At or
past expiry, or with no volatility, an option is worth its intrinsic value and its greeks
are the payoff's (delta 0 or +-1, gamma and vega 0), rather than a division by zero.
"""

from __future__ import annotations

import math

SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / SQRT2))


def norm_pdf(x: float) -> float:
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)


def _degenerate(years: float, vol: float) -> bool:
    return years <= 0 or vol <= 0


def _d1_d2(spot: float, strike: float, years: float, vol: float) -> tuple[float, float]:
    sd = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + 0.5 * sd * sd) / sd
    return d1, d1 - sd


def price(spot: float, strike: float, years: float, vol: float, call: bool) -> float:
    if _degenerate(years, vol):
        return max(spot - strike, 0.0) if call else max(strike - spot, 0.0)
    d1, d2 = _d1_d2(spot, strike, years, vol)
    if call:
        return spot * norm_cdf(d1) - strike * norm_cdf(d2)
    return strike * norm_cdf(-d2) - spot * norm_cdf(-d1)


def delta(spot: float, strike: float, years: float, vol: float, call: bool) -> float:
    if _degenerate(years, vol):
        if call:
            return 1.0 if spot > strike else 0.0
        return -1.0 if spot < strike else 0.0
    d1, _ = _d1_d2(spot, strike, years, vol)
    return norm_cdf(d1) if call else norm_cdf(d1) - 1.0


def gamma(spot: float, strike: float, years: float, vol: float) -> float:
    if _degenerate(years, vol):
        return 0.0
    d1, _ = _d1_d2(spot, strike, years, vol)
    return norm_pdf(d1) / (spot * vol * math.sqrt(years))


def vega(spot: float, strike: float, years: float, vol: float) -> float:
    """Per 1.00 of volatility (divide by 100 for one vol point)."""
    if _degenerate(years, vol):
        return 0.0
    d1, _ = _d1_d2(spot, strike, years, vol)
    return spot * norm_pdf(d1) * math.sqrt(years)
