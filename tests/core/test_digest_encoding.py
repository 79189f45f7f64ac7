"""A book side's encoding for the state digest, kept between ticks (``engine/core/book.py``).

The stateful machines of ``test_properties.py`` compare the digest with the whole state
encoded afresh after every step; these pin the pieces they cannot reach: the array
headers past 15 and 65,535 orders, and a level that grows by appends between reads.
"""

from __future__ import annotations

import msgspec
import pytest

from engine.core.book import Side, _array_header
from engine.core.orders import Order


def order(n: int, price: int, remaining: int = 1) -> Order:
    return Order(f"ORD_{n:08d}", "TEAM_0001", "SPY", True, "limit", price, remaining, n)


@pytest.mark.parametrize("count", [0, 1, 15, 16, 65_535, 65_536, 70_000])
def test_the_array_header_is_msgspecs(count: int) -> None:
    whole = msgspec.msgpack.encode([0] * count)
    assert _array_header(count) == whole[: len(whole) - count]


def test_a_side_read_as_it_grows_shrinks_and_fills_is_always_encoded_whole() -> None:
    side = Side(ascending=False)
    made = [order(n, 100 + n % 3, 1 + n % 5) for n in range(40)]

    def whole() -> bytes:
        return msgspec.msgpack.encode([(o.order_id, o.remaining) for o in side.best_orders()])

    for o in made[:20]:
        side.add(o)
    assert bytes(side.encoded_orders()) == whole()
    for o in made[20:]:  # appends to kept levels, 16 or more orders in all
        side.add(o)
        assert bytes(side.encoded_orders()) == whole()
    made[21].fill(1)  # a part fill moves one level
    side.changed(made[21].price)
    assert bytes(side.encoded_orders()) == whole()
    for o in made[::4]:
        side.remove(o)
        assert bytes(side.encoded_orders()) == whole()
