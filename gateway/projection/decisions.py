"""The engine's decision on one command, as a REST answer (pure).

The events of an ``engine.wire.Reply`` are exactly what the core produced for the
command: an acceptance with its immediate fills and cancellations, or one rejection.
A rejection becomes an ``ApiError`` with the engine's code; ``RATE_LIMIT_EXCEEDED``
carries ``retry_after`` in its details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.money import to_dollars
from engine.order_types import order_status
from engine.records import (
    AnyRecord,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    TeamRegistered,
    Trade,
)
from gateway.errors import ApiError
from gateway.projection.messages import iso_timestamp


def last_seq(command_seq: int, events: Sequence[AnyRecord]) -> int:
    """The seq after which the projection reflects the whole decision."""
    return max([command_seq, *(e.seq for e in events)])


def raise_rejection(events: Sequence[AnyRecord]) -> None:
    for e in events:
        if isinstance(e, OrderRejected):
            details: dict[str, Any] = dict(e.details)
            for key in ("instrument_id", "order_id", "client_order_id"):
                value = getattr(e, key)
                if value is not None:
                    details.setdefault(key, value)
            raise ApiError(e.code, e.message, details, request_id=e.request_id)


def registered(events: Sequence[AnyRecord]) -> dict[str, Any]:
    raise_rejection(events)
    for e in events:
        if isinstance(e, TeamRegistered):
            return {
                "team_id": e.team_id,
                "team_name": e.team_name,
                "role": e.role,
                "created_at": iso_timestamp(e.ts),
            }
    raise ApiError("INTERNAL_ERROR", "the engine registered no team")


def order_outcome(accepted: OrderAccepted, events: Sequence[AnyRecord]) -> dict[str, Any]:
    """One accepted order with what happened to it within the same command."""
    fills: list[dict[str, Any]] = []
    remaining = accepted.quantity
    cancelled = 0
    for e in events:
        if isinstance(e, Trade) and accepted.order_id in (e.maker_order_id, e.taker_order_id):
            maker = e.maker_order_id == accepted.order_id
            remaining = e.maker_remaining if maker else e.taker_remaining
            fill = {
                "trade_id": e.trade_id,
                "price": to_dollars(e.price),
                "quantity": e.quantity,
                "liquidity_type": "maker" if maker else "taker",
                "fees": to_dollars(e.maker_fee if maker else e.taker_fee),
            }
            if e.self_trade:  # against another order of the same team: no fee, no rebate
                fill["self_trade"] = True
            fills.append(fill)
        elif isinstance(e, OrderCancelled) and e.order_id == accepted.order_id:
            cancelled = e.cancelled_quantity
            remaining = 0
    filled = sum(f["quantity"] for f in fills)
    status = order_status(filled, remaining, cancelled)
    notional = sum(f["price"] * f["quantity"] for f in fills)
    return {
        "order_id": accepted.order_id,
        "client_order_id": accepted.client_order_id,
        "instrument_id": accepted.instrument_id,
        "side": accepted.side,
        "order_type": accepted.order_type,
        "quantity": accepted.quantity,
        "price": to_dollars(accepted.price),
        "status": status,
        "filled_quantity": filled,
        "remaining_quantity": remaining,
        "cancelled_quantity": cancelled,
        "average_price": round(notional / filled, 6) if filled else None,
        "fills": fills,
        "duplicate": accepted.duplicate,
    }


def order(events: Sequence[AnyRecord]) -> dict[str, Any]:
    raise_rejection(events)
    for e in events:
        if isinstance(e, OrderAccepted):
            return order_outcome(e, events)
    raise ApiError("INTERNAL_ERROR", "the engine neither accepted nor rejected the order")


def quote(events: Sequence[AnyRecord]) -> dict[str, Any]:
    raise_rejection(events)
    sides = {e.side: order_outcome(e, events) for e in events if isinstance(e, OrderAccepted)}
    if set(sides) != {"buy", "sell"}:
        raise ApiError("INTERNAL_ERROR", "the engine did not accept both sides of the quote")
    replaced = [
        e.order_id for e in events if isinstance(e, OrderCancelled) and e.reason == "replaced"
    ]
    return {"bid": sides["buy"], "ask": sides["sell"], "replaced_order_ids": replaced}


def cancelled(events: Sequence[AnyRecord]) -> dict[str, Any]:
    raise_rejection(events)
    orders = [
        {
            "order_id": e.order_id,
            "client_order_id": e.client_order_id,
            "instrument_id": e.instrument_id,
            "side": e.side,
            "cancelled_quantity": e.cancelled_quantity,
            "status": "cancelled",
        }
        for e in events
        if isinstance(e, OrderCancelled)
    ]
    return {"cancelled": orders, "count": len(orders)}
