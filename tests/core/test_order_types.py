"""Every order type behaves as its row of ``engine/order_types.py`` says.

Parametrised over the table, so a new order type is tested here by adding its row.
"""

from __future__ import annotations

import pytest

from engine.order_types import ORDER_TYPES, OrderType, order_status
from engine.records import Event, OrderAccepted, OrderCancelled, OrderRejected, Trade
from tests.core.fakes import Driver

CALL = "SPX_4400_CALL"
KINDS = list(ORDER_TYPES.values())


def priced(kind: OrderType) -> int | None:
    return 2500 if kind.needs_price else None


def rejection(events: list[Event]) -> OrderRejected:
    [event] = events
    assert isinstance(event, OrderRejected), events
    return event


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_price_is_required_or_refused_as_the_table_says(kind: OrderType) -> None:
    d = Driver(house={"enabled": False}, retail={"enabled": False})
    team = d.team("alpha")
    wrong = None if kind.needs_price else 2500
    refused = rejection(d.order(team, "buy", 1, wrong, order_type=kind.name))
    assert refused.code == ("MISSING_PRICE" if kind.needs_price else "INVALID_PRICE")
    accepted = d.order(team, "buy", 1, priced(kind), order_type=kind.name)
    assert isinstance(accepted[0], OrderAccepted)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_remainder_rests_or_is_cancelled_with_the_tables_reason(kind: OrderType) -> None:
    d = Driver(house={"enabled": False}, retail={"enabled": False})
    maker, taker = d.team("maker"), d.team("taker")
    d.order(maker, "sell", 2, 2500)
    events = d.order(taker, "buy", 5, priced(kind), order_type=kind.name)
    [fill] = [e for e in events if isinstance(e, Trade)]
    assert fill.quantity == 2
    cancels = [e for e in events if isinstance(e, OrderCancelled)]
    if kind.rests:
        assert not cancels
        assert d.core.books[CALL].bids.depth(1) == [(2500, 3, 1)]
    else:
        [cancel] = cancels
        assert (cancel.reason, cancel.cancelled_quantity) == (kind.remainder_reason, 3)
        assert not d.core.books[CALL].bids.prices


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_pre_open_accepts_only_what_the_table_allows(kind: OrderType) -> None:
    d = Driver(phase="pre_open", house={"enabled": False}, retail={"enabled": False})
    events = d.order(d.team("alpha"), "buy", 1, priced(kind), order_type=kind.name)
    if kind.continuous_only:
        assert rejection(events).code == "MARKET_CLOSED"
    else:
        assert isinstance(events[0], OrderAccepted)


def test_an_unknown_order_type_is_refused_by_name() -> None:
    d = Driver(house={"enabled": False}, retail={"enabled": False})
    refused = rejection(d.order(d.team("alpha"), "buy", 1, 2500, order_type="stop"))
    assert refused.code == "ORDER_TYPE_NOT_ALLOWED"
    assert "'stop'" in refused.message


@pytest.mark.parametrize(
    ("filled", "remaining", "cancelled", "status"),
    [
        (0, 5, 0, "new"),
        (2, 3, 0, "partially_filled"),
        (5, 0, 0, "filled"),
        (2, 0, 3, "cancelled"),
        (0, 0, 5, "cancelled"),
    ],
)
def test_one_definition_of_an_orders_status(
    filled: int, remaining: int, cancelled: int, status: str
) -> None:
    assert order_status(filled, remaining, cancelled) == status
