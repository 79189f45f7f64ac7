from __future__ import annotations

import math

import pytest

from engine.money import PriceError, to_cents, to_dollars


@pytest.mark.parametrize(
    ("value", "cents"), [(25.45, 2545), (0.01, 1), (128.5, 12850), (4400, 440000), (1.1, 110)]
)
def test_prices_become_exact_cents(value: float, cents: int) -> None:
    assert to_cents(value) == cents
    assert to_dollars(cents) == pytest.approx(value)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, 0, -1.0, 1e308, 25.455, 0.001, True, "1"]
)
def test_bad_prices_are_refused(value: object) -> None:
    with pytest.raises(PriceError):
        to_cents(value)  # type: ignore[arg-type]
