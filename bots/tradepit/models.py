"""The ``data`` of REST answers as msgspec structs. Unknown fields are ignored, so a newer
server that adds fields does not break an older bot."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


class ErrorBody(msgspec.Struct):
    code: str
    message: str = ""
    details: dict[str, Any] | None = None


class Envelope(msgspec.Struct, Generic[T]):
    success: bool
    data: T | None = None
    error: ErrorBody | None = None
    order_id: str | None = None
    request_id: str | None = None


class Registration(msgspec.Struct):
    team_id: str
    team_name: str
    role: str
    api_key: str
    created_at: str = ""


class Team(msgspec.Struct):
    team_id: str
    team_name: str
    role: str
    created_at: str = ""


class LockstepDone(msgspec.Struct):
    tick_number: int  # the session's current tick
    clock_mode: str  # "lockstep", or "wall" (then nothing waits for this call)
    team_id: str = ""


class Fill(msgspec.Struct):
    trade_id: str
    price: float
    quantity: int
    liquidity_type: str
    fees: float
    self_trade: bool = False  # the other side was this team's own order: no fee, no rebate


class OrderResult(msgspec.Struct):
    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    order_type: str
    quantity: int
    price: float | None
    status: str
    filled_quantity: int = 0
    remaining_quantity: int = 0
    cancelled_quantity: int = 0
    average_price: float | None = None
    fills: list[Fill] = []
    duplicate: bool = False


class QuoteResult(msgspec.Struct):
    bid: OrderResult
    ask: OrderResult
    replaced_order_ids: list[str] = []


class Cancelled(msgspec.Struct):
    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    cancelled_quantity: int
    status: str = "cancelled"


class CancelledAll(msgspec.Struct):
    cancelled: list[Cancelled]
    count: int


class OpenOrder(msgspec.Struct):
    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    order_type: str
    price: float | None
    quantity: int
    filled_quantity: int
    remaining_quantity: int
    status: str
    quote: bool = False


class OpenOrders(msgspec.Struct):
    orders: list[OpenOrder]


class Positions(msgspec.Struct):
    team_id: str
    positions: dict[str, int]
    cash: float
    fees: float
    pnl: float
    total_position: int = 0
    trades: int = 0
    volume: int = 0


class Instrument(msgspec.Struct):
    instrument_id: str
    underlying: str
    kind: str
    strike: float | None
    multiplier: int
    tick_size: float
    mark: float | None = None
    expiry: str | None = None


class Instruments(msgspec.Struct):
    instruments: list[Instrument]
    expiry: str | None = None


class Level(msgspec.Struct):
    price: float
    quantity: int
    orders: int = 1


class OrderBook(msgspec.Struct):
    instrument_id: str
    bids: list[Level]
    asks: list[Level]
    last: float | None = None
    mark: float | None = None
    fair: float | None = None  # the model's fair value from the last tick
    seq: int = 0


class StandingRow(msgspec.Struct):
    rank: int | None
    team_id: str
    team_name: str
    role: str
    score: float
    pnl: float
    penalties: float
    bonuses: float
    requirements_met: bool
    unmet: list[str]
    volume: int = 0
    trades: int = 0
    position: int = 0
    positions: dict[str, int] = {}
    delta: float | None = None
    ticks: int = 0
    kpis: dict[str, Any] = {}
    disabled: bool = False  # disqualified by the organisers: ranked last in its role


class Leaderboard(msgspec.Struct):
    seq: int
    tick_number: int
    roles: dict[str, list[StandingRow]]
    session_id: str | None = None


class Series(msgspec.Struct):
    tick: list[int]
    seq: list[int]
    pnl: list[float]
    score: list[float]
    position: list[int]
    delta: list[float | None]
    coverage: list[float | None]


class Score(StandingRow):
    seq: int = 0
    tick_number: int = 0
    series: Series | None = None


class EventsPage(msgspec.Struct):
    messages: list[dict[str, Any]]
    count: int
    last_seq: int


class Health(msgspec.Struct):
    status: str
    phase: str
    tick_number: int
    applied_seq: int = 0
    session_id: str | None = None
    clock_mode: str = "wall"  # "lockstep": send lockstep_done after each tick's step
