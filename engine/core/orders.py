"""A live order and its lifecycle. Everything about order states lives here.

    new -> partially_filled -> filled
    new | partially_filled -> cancelled          (a reason of engine/vocabulary.py
                                                  CANCEL_REASONS)
    (refused commands never become orders: they are OrderRejected events)

An order is live while it has remaining quantity in a book. ``filled + remaining +
cancelled == quantity`` holds at every moment.
"""

from __future__ import annotations

from engine.order_types import order_status

BUY = "buy"
SELL = "sell"
SIDES = (BUY, SELL)

TERMINAL = ("filled", "cancelled")


class Order:
    __slots__ = (
        "cancelled",
        "client_order_id",
        "filled",
        "instrument_id",
        "is_buy",
        "order_id",
        "order_type",
        "price",
        "quantity",
        "quote",
        "remaining",
        "seq",
        "team_id",
    )

    def __init__(
        self,
        order_id: str,
        team_id: str,
        instrument_id: str,
        is_buy: bool,
        order_type: str,
        price: int | None,
        quantity: int,
        seq: int,
        client_order_id: str | None = None,
        quote: bool = False,
    ) -> None:
        self.order_id = order_id
        self.team_id = team_id
        self.instrument_id = instrument_id
        self.is_buy = is_buy
        self.order_type = order_type
        self.price = price
        self.quantity = quantity
        self.remaining = quantity
        self.filled = 0
        self.cancelled = 0
        self.seq = seq  # time priority: the seq of the command that created it
        self.client_order_id = client_order_id
        self.quote = quote

    @property
    def side(self) -> str:
        return BUY if self.is_buy else SELL

    @property
    def status(self) -> str:
        return order_status(self.filled, self.remaining, self.cancelled)

    def fill(self, quantity: int) -> None:
        self.remaining -= quantity
        self.filled += quantity

    def cancel(self) -> int:
        """Cancel the rest; returns the quantity cancelled."""
        quantity = self.remaining
        self.cancelled += quantity
        self.remaining = 0
        return quantity
