"""Exact prices: integer cents inside, floats only at the JSON edge."""

from __future__ import annotations

import math
from typing import overload

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


def mark_price(fair: int | None, last: int | None, bid: int | None, ask: int | None) -> int | None:
    """The price a position is valued at, in cents: the model's fair value (as scoring
    marks), else the last trade, else the mid of a two-sided book, else none."""
    if fair is not None:
        return fair
    if last is not None:
        return last
    if bid is not None and ask is not None:
        return (bid + ask) // 2
    return None


@overload
def to_dollars(cents: int) -> float: ...
@overload
def to_dollars(cents: None) -> None: ...
@overload
def to_dollars(cents: int | None) -> float | None: ...


def to_dollars(cents: int | None) -> float | None:
    """Integer cents as a float for JSON; None stays None. The one conversion out of cents."""
    return None if cents is None else cents / CENTS
