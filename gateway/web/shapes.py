"""The ``data`` of every REST answer, as structs: what ``/openapi.json`` documents.

Nothing builds answers from these (the views return plain dicts, the cheaper path); they
exist so the document names every field, and ``tests/e2e/test_shapes.py`` holds each
live answer to its struct, so a shape cannot drift without the document changing too.
Every field is required: a field that may be empty is ``None``, never missing.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _Shape(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Registered(_Shape, kw_only=True):
    team_id: str
    team_name: str
    role: str
    api_key: str  # shown once, never again
    created_at: str


class TeamInfo(_Shape, kw_only=True):
    team_id: str
    team_name: str
    role: str
    created_at: str


class Fill(_Shape, kw_only=True):
    trade_id: str
    price: float
    quantity: int
    liquidity_type: str
    fees: float
    self_trade: bool = False  # present (true) only against another order of the team


class OrderResult(_Shape, kw_only=True):
    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    order_type: str
    quantity: int
    price: float | None
    status: str  # new | partially_filled | filled | cancelled (| closed for a duplicate)
    filled_quantity: int
    remaining_quantity: int
    cancelled_quantity: int
    average_price: float | None
    fills: list[Fill]
    duplicate: bool


class QuoteResult(_Shape, kw_only=True):
    bid: OrderResult
    ask: OrderResult
    replaced_order_ids: list[str]


class RestingOrder(_Shape, kw_only=True):
    """One open order: the reference's fields, then ours."""

    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    order_type: str
    price: float | None
    original_quantity: int
    quantity: int
    filled_quantity: int
    remaining_quantity: int
    status: str  # open | partially_filled
    submitted_at: str
    quote: bool


class OpenOrders(_Shape, kw_only=True):
    orders: list[RestingOrder]


class CancelledOrder(_Shape, kw_only=True):
    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    cancelled_quantity: int
    status: str


class CancelledOrders(_Shape, kw_only=True):
    cancelled: list[CancelledOrder]
    count: int


class PositionDetail(_Shape, kw_only=True):
    instrument_id: str
    quantity: int
    mark: float | None
    market_value: float | None


class Positions(_Shape, kw_only=True):
    team_id: str
    positions: dict[str, int]
    last_updated: str
    details: list[PositionDetail]
    cash: float
    fees: float
    pnl: float
    total_position: int
    trades: int
    volume: int


class BookLevel(_Shape, kw_only=True):
    price: float
    quantity: int
    orders: int


class OrderBook(_Shape, kw_only=True):
    instrument_id: str
    bids: list[BookLevel]
    asks: list[BookLevel]
    last: float | None
    mark: float | None
    fair: float | None
    seq: int
    timestamp: str


class InstrumentInfo(_Shape, kw_only=True):
    instrument_id: str
    underlying: str
    kind: str
    strike: float | None
    multiplier: int
    tick_size: float
    mark: float | None
    expiry: str | None  # ISO date, options only
    alias: str | None  # the reference docs' long form, options only


class Instruments(_Shape, kw_only=True):
    instruments: list[InstrumentInfo]
    expiry: str | None


class StreamMessage(_Shape, kw_only=True):
    seq: int
    type: str
    timestamp: str
    data: dict[str, Any]


class EventsPage(_Shape, kw_only=True):
    messages: list[StreamMessage]
    count: int
    last_seq: int


class SupervisedChild(_Shape, kw_only=True):
    pid: int | None
    state: str  # starting | running | restarting | backoff | ended | stopped
    restarts: int
    last_exit: str | None  # "killed by SIGKILL", "exit status 1"
    last_exit_at: str | None
    backoff_seconds: float  # the pause before its next restart, while in backoff


class Supervision(_Shape, kw_only=True):
    """``tradepit serve``'s state (``engine.serve.status``); None under no ``serve``."""

    updated_at: str
    restarts: int
    backoff: bool
    last_exit: str | None  # the latest death: "gw-2: killed by SIGKILL"
    day_ended: bool
    children: dict[str, SupervisedChild]  # "engine", "gw-1", ...


class Health(_Shape, kw_only=True):
    status: str
    gateway_id: str
    session_id: str | None
    applied_seq: int
    log_head_seq: int
    lag: int
    phase: str
    tick_number: int
    teams: int
    ws_connections: int
    public_connections: int
    clock: str  # running | stopped
    registration: str  # open | closed (by the organisers, full, or after the bell)
    registered_teams: int
    max_teams: int
    trading: str  # open | halted
    ended: bool  # the closing bell rang
    final_seq: int | None  # the bell's seq: the standings are frozen there
    next_phase: NextPhase | None
    replay: bool
    ladder: bool  # a practice ladder is shown (--ladder DIR)
    supervisor: Supervision | None
    clock_mode: str  # "wall", or "lockstep": the session waits for POST /lockstep/done


class NextPhase(_Shape, kw_only=True):
    phase: str
    at: str  # when the clock will change it, if it keeps running


class RosterTeam(_Shape, kw_only=True):
    team_id: str
    team_name: str
    role: str
    disabled: bool


class Roster(_Shape, kw_only=True):
    teams: list[RosterTeam]
    count: int
    total: int
    offset: int
    next_offset: int | None


class LockstepDone(_Shape, kw_only=True):
    tick_number: int  # the session's current tick
    clock_mode: str
    team_id: str


SHAPES: tuple[type[_Shape], ...] = (
    Registered,
    TeamInfo,
    Roster,
    OrderResult,
    QuoteResult,
    OpenOrders,
    CancelledOrder,
    CancelledOrders,
    Positions,
    OrderBook,
    Instruments,
    EventsPage,
    Health,
    LockstepDone,
)
