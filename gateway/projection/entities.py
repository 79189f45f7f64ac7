"""The projected exchange state: teams, their orders and positions, aggregated books.

Plain mutable containers; ``projection.py`` is the only writer. Iteration order is
insertion order of dicts (the log's order), never a set's, so every gateway that folds
the same records holds the same state in the same order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

from engine.money import to_dollars
from engine.order_types import order_status
from gateway.projection.messages import iso_timestamp


class OpenOrder(msgspec.Struct, gc=False):
    """A resting order as the gateways see it.

    ``gc=False``: it holds only strings, numbers and None, so it can be in no reference
    cycle, and the cyclic collector need not walk it. A busy book rests tens of
    thousands; walked, they made every full collection tens of ms long, and every order
    in flight waited for it (engine/heap.py)."""

    order_id: str
    team_id: str
    instrument_id: str
    side: str
    order_type: str
    quantity: int
    remaining: int
    price: int | None  # cents; None for a market order
    client_order_id: str | None
    quote: bool
    ts: int

    @property
    def status(self) -> str:
        """The lifecycle status, as acks and order answers name it."""
        return order_status(self.quantity - self.remaining, self.remaining, 0)

    def view(self) -> dict[str, Any]:
        """A resting order in the reference's ``GET /orders`` shape, plus our fields.

        The reference names a resting order without fills ``open`` here (acks say ``new``).
        """
        filled = self.quantity - self.remaining
        status = self.status
        return {
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "instrument_id": self.instrument_id,
            "side": self.side,
            "order_type": self.order_type,
            "price": to_dollars(self.price),
            "original_quantity": self.quantity,
            "quantity": self.quantity,
            "filled_quantity": filled,
            "remaining_quantity": self.remaining,
            "status": "open" if status == "new" else status,
            "submitted_at": iso_timestamp(self.ts),
            "quote": self.quote,
        }


#: Refusals kept per team for ``GET /refusals``.
REFUSALS_KEPT = 50


@dataclass(slots=True)
class TeamState:
    team_id: str
    team_name: str
    role: str
    api_key_hash: str
    registered_ts: int
    # The team's stream head is ``own + broadcasts to its role so far - base``
    # (``Projection.stream_head``): a broadcast costs no per-team work or memory.
    own: int = 0  # messages addressed to this team alone
    base: int = 0  # broadcasts its role had received before the team joined
    cash: int = 0  # cents, fees included
    fees: int = 0  # cents, signed: + rebates received
    positions: dict[str, int] = field(default_factory=dict)
    orders: dict[str, OpenOrder] = field(default_factory=dict)
    trades: int = 0
    volume: int = 0  # contracts traded
    disabled: bool = False  # by an admin: no more trading, reads still allowed
    # the team's last refusals (GET /refusals): the stream carries none, and a bot
    # author's first question after a quiet bot is what the engine refused and why
    refusals: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REFUSALS_KEPT))

    @property
    def streams(self) -> bool:
        """Only teams with an API key have a stream (simulated participants have none)."""
        return bool(self.api_key_hash)


@dataclass(slots=True)
class Level:
    quantity: int = 0
    orders: int = 0


@dataclass(slots=True)
class DepthBook:
    """Aggregated resting quantity per price; price-sorted only when read."""

    bids: dict[int, Level] = field(default_factory=dict)
    asks: dict[int, Level] = field(default_factory=dict)

    def side(self, side: str) -> dict[int, Level]:
        return self.bids if side == "buy" else self.asks

    def add(self, side: str, price: int, quantity: int) -> None:
        levels = self.bids if side == "buy" else self.asks
        level = levels.get(price)
        if level is None:
            levels[price] = Level(quantity, 1)
        else:
            level.quantity += quantity
            level.orders += 1

    def reduce(self, side: str, price: int, quantity: int, *, gone: bool) -> None:
        levels = self.bids if side == "buy" else self.asks
        level = levels.get(price)
        if level is None:
            return
        level.quantity -= quantity
        if gone:
            level.orders -= 1
        if level.orders <= 0 or level.quantity <= 0:
            del levels[price]

    def top(self, depth: int) -> dict[str, list[dict[str, Any]]]:
        def levels(side: dict[int, Level], reverse: bool) -> list[dict[str, Any]]:
            prices = sorted(side, reverse=reverse)[:depth]
            return [
                {"price": to_dollars(p), "quantity": side[p].quantity, "orders": side[p].orders}
                for p in prices
            ]

        return {"bids": levels(self.bids, True), "asks": levels(self.asks, False)}
