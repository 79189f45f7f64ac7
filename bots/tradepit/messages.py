"""Stream messages: a msgspec tagged union on ``type``, one struct per message type.

A message of a type this version does not know decodes as ``Other`` rather than failing,
so the stream keeps its seq accounting whatever the server adds.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _Msg(msgspec.Struct, tag_field="type", kw_only=True):
    seq: int
    timestamp: str = ""


class SnapshotOrder(msgspec.Struct):
    """One open order in a ``position_snapshot``."""

    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    order_type: str
    price: float | None
    quantity: int
    remaining_quantity: int
    filled_quantity: int = 0
    quote: bool = False


class SnapshotData(msgspec.Struct):
    """The data of a ``position_snapshot``: positions, cash, fees, P&L, open orders, tick, phase."""

    team_id: str
    role: str
    positions: dict[str, int]
    cash: float
    fees: float
    pnl: float
    open_orders: list[SnapshotOrder]
    tick_number: int
    phase: str


class PositionSnapshot(_Msg, tag="position_snapshot"):
    """``position_snapshot``: the team's state at this seq (a fresh start)."""

    data: SnapshotData


class AckData(msgspec.Struct):
    """The data of a ``new_order_ack``."""

    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    order_type: str
    quantity: int
    price: float | None
    quote: bool = False


class NewOrderAck(_Msg, tag="new_order_ack"):
    """``new_order_ack``: an order or a quote's side was accepted."""

    data: AckData


class ExecutionData(msgspec.Struct):
    """The data of an ``execution_report``: one fill of one order."""

    order_id: str
    client_order_id: str | None
    trade_id: str
    instrument_id: str
    side: str
    executed_quantity: int
    executed_price: float
    remaining_quantity: int
    order_status: str
    liquidity_type: str
    fees: float
    self_trade: bool = False  # the other side was this team's own order: no fee, no rebate


class ExecutionReport(_Msg, tag="execution_report"):
    """``execution_report``: one of the team's orders traded."""

    data: ExecutionData


class CancelData(msgspec.Struct):
    """The data of an ``order_cancelled``, with its ``reason``."""

    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    cancelled_quantity: int
    reason: str = ""


class OrderCancelled(_Msg, tag="order_cancelled"):
    """``order_cancelled``: an order left the book without trading (all or the rest)."""

    data: CancelData


class MarketDataData(msgspec.Struct):
    """The data of a ``market_data``: top of book, last trade and fair value."""

    instrument_id: str
    bid: float | None
    ask: float | None
    last: float | None
    bid_size: int = 0
    ask_size: int = 0
    fair: float | None = None  # the model's fair value at this tick: the mark (rules.md)


class MarketData(_Msg, tag="market_data"):
    """``market_data``: an instrument's top of book or last trade changed this tick."""

    data: MarketDataData


class TickData(msgspec.Struct):
    """The data of a ``tick_start``."""

    tick_number: int
    phase: str


class TickStart(_Msg, tag="tick_start"):
    """``tick_start``: the first message of every tick."""

    data: TickData


class Event(_Msg, tag="event"):
    """``event``: news, phase changes, halts and the closing bell (``data.event_type``)."""

    data: dict[str, Any]


class Signal(_Msg, tag="signal"):
    """``signal``: a role's private signal (``data.signal_type``)."""

    data: dict[str, Any]


class ScoreUpdate(_Msg, tag="score_update"):
    """``score_update``: the team's standing, once a tick."""

    data: dict[str, Any]


Message = (
    PositionSnapshot
    | NewOrderAck
    | ExecutionReport
    | OrderCancelled
    | MarketData
    | TickStart
    | Event
    | Signal
    | ScoreUpdate
)


class Other(msgspec.Struct, kw_only=True):
    """A message type this library does not know (yet)."""

    seq: int
    type: str
    timestamp: str = ""
    data: dict[str, Any] = {}


class _Peek(msgspec.Struct):
    type: str
    seq: int | None = None
    data: dict[str, Any] = {}


_decoder = msgspec.json.Decoder(Message)
_peek = msgspec.json.Decoder(_Peek)


def peek(raw: bytes | str) -> tuple[str, int | None, dict[str, Any]]:
    """The type, seq (None for a heartbeat) and data of a frame."""
    p = _peek.decode(raw)
    return p.type, p.seq, p.data


def decode(raw: bytes | str) -> Message | Other:
    """A frame as its message struct; ``Other`` for a type this version does not know."""
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError:
        return msgspec.json.decode(raw, type=Other)
