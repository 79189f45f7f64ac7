"""The ``data`` of REST answers as msgspec structs. Unknown fields are ignored, so a newer
server that adds fields does not break an older bot."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


class ErrorBody(msgspec.Struct):
    """A refusal: ``code`` (the contract), ``message`` and ``details``."""

    code: str
    message: str = ""
    details: dict[str, Any] | None = None


class Envelope(msgspec.Struct, Generic[T]):
    """Every REST answer: ``success`` and its ``data`` or ``error``."""

    success: bool
    data: T | None = None
    error: ErrorBody | None = None
    order_id: str | None = None
    request_id: str | None = None


class Registration(msgspec.Struct):
    """A registered team and its API key (what a key file holds)."""

    team_id: str
    team_name: str
    role: str
    api_key: str
    created_at: str = ""


class Team(msgspec.Struct):
    """Who a key belongs to (``GET /game/teams/{team_id}``)."""

    team_id: str
    team_name: str
    role: str
    created_at: str = ""


class LockstepDone(msgspec.Struct):
    """The answer to ``POST /lockstep/done``: the session's tick and its clock mode."""

    tick_number: int  # the session's current tick
    clock_mode: str  # "lockstep", or "wall" (then nothing waits for this call)
    team_id: str = ""


class Fill(msgspec.Struct):
    """One fill in an order's answer."""

    trade_id: str
    price: float
    quantity: int
    liquidity_type: str
    fees: float
    self_trade: bool = False  # the other side was this team's own order: no fee, no rebate


class OrderResult(msgspec.Struct):
    """The answer to an order: its status and the fills it got at once."""

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
    """The answer to a quote: its two sides and the orders it replaced."""

    bid: OrderResult
    ask: OrderResult
    replaced_order_ids: list[str] = []


class Cancelled(msgspec.Struct):
    """The answer to a cancel."""

    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    cancelled_quantity: int
    status: str = "cancelled"


class CancelledAll(msgspec.Struct):
    """The answer to a cancel of every open order (of one instrument)."""

    cancelled: list[Cancelled]
    count: int


class OpenOrder(msgspec.Struct):
    """One open order (``GET /orders``)."""

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
    """The data of ``GET /orders``."""

    orders: list[OpenOrder]


class Positions(msgspec.Struct):
    """The data of ``GET /positions``: positions, cash, fees, P&L."""

    team_id: str
    positions: dict[str, int]
    cash: float
    fees: float
    pnl: float
    total_position: int = 0
    trades: int = 0
    volume: int = 0


class Instrument(msgspec.Struct):
    """One tradable instrument with its mark (fair value at the last tick)."""

    instrument_id: str
    underlying: str
    kind: str
    strike: float | None
    multiplier: int
    tick_size: float
    mark: float | None = None
    expiry: str | None = None


class Instruments(msgspec.Struct):
    """The data of ``GET /instruments``."""

    instruments: list[Instrument]
    expiry: str | None = None


class Level(msgspec.Struct):
    """One price level of a book, aggregated."""

    price: float
    quantity: int
    orders: int = 1


class OrderBook(msgspec.Struct):
    """The data of ``GET /orderbook/ID``: top 5 levels a side, last, mark and fair."""

    instrument_id: str
    bids: list[Level]
    asks: list[Level]
    last: float | None = None
    mark: float | None = None
    fair: float | None = None  # the model's fair value from the last tick
    seq: int = 0


class StandingRow(msgspec.Struct):
    """One team's row of the standings (docs/scoring.md explains each figure)."""

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
    """The data of ``GET /leaderboard``: rows per role."""

    seq: int
    tick_number: int
    roles: dict[str, list[StandingRow]]
    session_id: str | None = None


class Series(msgspec.Struct):
    """A team's figures per tick, in ``GET /teams/ID/score``."""

    tick: list[int]
    seq: list[int]
    pnl: list[float]
    score: list[float]
    position: list[int]
    delta: list[float | None]
    coverage: list[float | None]


class Score(StandingRow):
    """The data of ``GET /teams/ID/score``: the team's row with its series."""

    seq: int = 0
    tick_number: int = 0
    series: Series | None = None


class EventsPage(msgspec.Struct):
    """One page of ``GET /events``, with the stream's head as ``last_seq``."""

    messages: list[dict[str, Any]]
    count: int
    last_seq: int


class Health(msgspec.Struct):
    """The data of ``GET /health`` the kit reads."""

    status: str
    phase: str
    tick_number: int
    applied_seq: int = 0
    session_id: str | None = None
    clock_mode: str = "wall"  # "lockstep": send lockstep_done after each tick's step
