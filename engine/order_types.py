"""What each order type is, stated once: the core, the projection, validation and the
tests read this table, so a new order type is one row here plus its core test,
its validation message and its docs. A new column (a way a type differs that no field
says yet) is a field of ``OrderType`` given in every row, read where it acts, never by
the type's name: docs/architecture.md, Where a change goes.

An order's lifecycle status is stated here too, for the same reason: the core's live
orders, the projection's open orders and the gateway's decisions all name it.
"""

from __future__ import annotations

from typing import get_args

from engine.records import CancelReason
from engine.records import OrderType as OrderTypeName


class OrderType:
    """One order type's rules.

    ``needs_price``: a price is required (True) or refused (False).
    ``rests``: what does not fill rests in the book; otherwise it is cancelled at once
    with ``remainder_reason``.
    ``continuous_only``: accepted only in continuous trading (with no book to meet
    during pre-open, an order that cannot rest has nothing to do).
    """

    __slots__ = ("continuous_only", "name", "needs_price", "remainder_reason", "rests")

    def __init__(
        self,
        name: str,
        *,
        needs_price: bool,
        rests: bool,
        remainder_reason: CancelReason | None,
        continuous_only: bool,
    ) -> None:
        assert rests == (remainder_reason is None), name
        self.name = name
        self.needs_price = needs_price
        self.rests = rests
        self.remainder_reason = remainder_reason
        self.continuous_only = continuous_only


ORDER_TYPES: dict[str, OrderType] = {
    t.name: t
    for t in (
        OrderType(
            "limit", needs_price=True, rests=True, remainder_reason=None, continuous_only=False
        ),
        OrderType(
            "market",
            needs_price=False,
            rests=False,
            remainder_reason="no_liquidity",
            continuous_only=True,
        ),
    )
}

#: The record's ``order_type`` field decodes exactly these names (the log's contract).
assert tuple(ORDER_TYPES) == get_args(OrderTypeName), "engine/records.py OrderType differs"

#: Not an order type: a role permission for the two-sided quote command.
QUOTE = "quote"


#: The order types that can rest in the book; a set, for the folds' per-record tests.
RESTING = frozenset(name for name, spec in ORDER_TYPES.items() if spec.rests)


def rests_in_book(order_type: str) -> bool:
    """Whether an accepted order of this type can rest (and so shows in the books)."""
    return order_type in RESTING


def order_status(filled: int, remaining: int, cancelled: int) -> str:
    """new -> partially_filled -> filled, or cancelled once anything was cancelled."""
    if cancelled:
        return "cancelled"
    if remaining == 0:
        return "filled"
    return "partially_filled" if filled else "new"
