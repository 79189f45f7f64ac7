"""Exact prices: integer cents inside, floats only at the JSON edge."""

from __future__ import annotations

import math

CENTS = 100


class PriceError(ValueError):
    """A price that is not a positive, finite multiple of the tick."""


def to_cents(value: float | int, *, tick: int = 1, limit: int = 10**11) -> int:
    """A JSON price in dollars as integer cents; rejects NaN, infinities, sub-tick and huge."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PriceError("price must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise PriceError("price must be finite")
    if value <= 0:
        raise PriceError("price must be positive")
    scaled = value * CENTS
    if scaled >= limit:
        raise PriceError("price is too large")
    cents = round(scaled)
    if abs(scaled - cents) > 1e-6 * max(1.0, abs(scaled)) or cents % tick:
        raise PriceError("price must be a multiple of the tick size 0.01")
    return int(cents)


def to_dollars(cents: int | None) -> float | None:
    """Integer cents as a float for JSON; None stays None."""
    return None if cents is None else cents / CENTS
