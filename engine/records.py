"""Every record of the log: the inputs the engine sequenced and the outcomes it produced.

Theory of operation
-------------------
The log is the only truth, and these structs are its vocabulary. Each record is one
member of the tagged union ``Record`` (tag field ``"k"``), carrying its global ``seq``
and the sequencer time ``ts`` in integer nanoseconds. Commands (inputs) are stamped by
the engine shell; events (outcomes) are produced by the pure core and inherit the
``ts`` of the command that caused them, with the next ``seq`` numbers.

Exact values only: prices are integer cents (the tick is 0.01), cash and fees are
integer cents, time is integer nanoseconds. Floats appear only in simulation figures
that are not prices (a z-score, a confidence) and at the JSON edge.

Schemas only grow (msgspec's schema-evolution rules): a new field gets a default and
goes at the end of its struct; no field changes type or is removed; tags never change.
Records are encoded as msgpack arrays (``array_like``) so the log is compact and fast;
that is why field order matters and new fields go last.
"""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

import msgspec

#: Bumped when a record changes shape (always compatibly). Written in segment headers.
SCHEMA_VERSION = 1

Side = Literal["buy", "sell"]
OrderType = Literal["limit", "market"]
Role = Literal["market_maker", "hedge_fund", "arbitrage", "retail"]
Phase = Literal["closed", "pre_open", "opening_auction", "continuous"]
Regime = Literal["low", "medium", "high"]
#: What each reason means: ``engine/vocabulary.py``, which the docs' table is made from.
CancelReason = Literal[
    "user",
    "cancel_all",
    "replaced",
    "no_liquidity",
    "market_close",
    "team_disabled",
    "expired",
    "out_of_band",
    "self_trade_prevented",
]
Liquidity = Literal["maker", "taker"]

ROLES: tuple[Role, ...] = ("market_maker", "hedge_fund", "arbitrage", "retail")
PHASES: tuple[Phase, ...] = get_args(Phase)


class Record(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag_field="k", gc=False):
    """Base of every log record. Never add fields here: subclasses own their layout.

    ``gc=False``: records hold only scalars, strings and flat dicts, so they can never be
    part of a reference cycle; untracked, they decode over twice as fast (msgspec perf-tips).
    """

    seq: int = 0
    ts: int = 0


# --------------------------------------------------------------------------- commands


class Command(Record, frozen=True, kw_only=True):
    """An input: something the outside world asked for, stamped by the sequencer."""


class StartSession(Command, frozen=True, kw_only=True, tag="start_session"):
    """The first record of every log. ``config`` is the canonical JSON of the config."""

    session_id: str
    seed: int
    config: str
    config_hash: str
    schema_version: int = SCHEMA_VERSION


class RegisterTeam(Command, frozen=True, kw_only=True, tag="register_team"):
    team_name: str
    role: str
    api_key_hash: str
    request_id: str | None = None
    # SHA-256 of the invite code the team gave (``[teams] registration = "invite"``):
    # the core checks it, the log holds the hash, never the code
    invite_hash: str | None = None


class SubmitOrder(Command, frozen=True, kw_only=True, tag="submit_order"):
    team_id: str
    instrument_id: str
    side: str
    quantity: int
    order_type: str
    price: int | None = None  # cents; None for a market order
    client_order_id: str | None = None
    request_id: str | None = None


class SubmitQuote(Command, frozen=True, kw_only=True, tag="submit_quote"):
    team_id: str
    instrument_id: str
    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int
    request_id: str | None = None


class CancelOrder(Command, frozen=True, kw_only=True, tag="cancel_order"):
    team_id: str
    order_id: str
    request_id: str | None = None


class CancelAll(Command, frozen=True, kw_only=True, tag="cancel_all"):
    team_id: str
    instrument_id: str | None = None
    request_id: str | None = None


class ClockTick(Command, frozen=True, kw_only=True, tag="clock_tick"):
    """Advance the session by one tick: prices, news, signals, simulated flow."""


class ChangePhase(Command, frozen=True, kw_only=True, tag="change_phase"):
    phase: str


class DisableTeam(Command, frozen=True, kw_only=True, tag="disable_team"):
    """Admin: the team may no longer trade; its resting orders are cancelled."""

    team_id: str
    request_id: str | None = None


class SetHouse(Command, frozen=True, kw_only=True, tag="set_house"):
    """Admin: switch the house liquidity provider on or off."""

    enabled: bool
    request_id: str | None = None


class SetClock(Command, frozen=True, kw_only=True, tag="set_clock"):
    """Admin: stop or start the session clock (no ticks or phase changes while stopped)."""

    running: bool
    request_id: str | None = None


class SetRegistration(Command, frozen=True, kw_only=True, tag="set_registration"):
    """Admin: open or close the registration of new teams."""

    open: bool
    request_id: str | None = None


class SetTrading(Command, frozen=True, kw_only=True, tag="set_trading"):
    """Admin: halt or resume trading. Halted: new orders and quotes are refused
    (``TRADING_HALTED``), cancels are allowed, the book stays; the clock is not touched."""

    halted: bool
    request_id: str | None = None


class EnableTeam(Command, frozen=True, kw_only=True, tag="enable_team"):
    """Admin: the inverse of ``DisableTeam``: the team may trade again."""

    team_id: str
    request_id: str | None = None


class EndCompetition(Command, frozen=True, kw_only=True, tag="end_competition"):
    """Admin: the closing bell. Closes the market, stops the clock and ends the competition
    for good: ``CompetitionEnded`` records the seq the standings are frozen at."""

    request_id: str | None = None


class AddInvites(Command, frozen=True, kw_only=True, tag="add_invites"):
    """Admin: invite codes, each good for one registration, as their SHA-256 hashes (the
    codes are shown once, to the organiser who asked for them)."""

    code_hashes: tuple[str, ...]
    request_id: str | None = None


class EngineStarted(Command, frozen=True, kw_only=True, tag="engine_started"):
    """Written each time an engine process opens the log (restarts are visible)."""

    recovered_seq: int = 0


class ForkSession(Command, frozen=True, kw_only=True, tag="fork_session"):
    """This log goes on from a copy of another session's log (``engine/replay/fork.py``).

    The records before it are the parent's first ``parent_seq`` records, byte for byte,
    re-executed when the fork was made. ``parent_digest`` is the core's state digest
    after them; re-execution checks it here again. From this record on the session is
    ``session_id``. ``takeover_team_id`` is a recorded team the bot under test now
    trades as, with the key whose hash is ``takeover_key_hash`` (its old key no longer
    works); or ``join_role`` names the role of a new team for it (``join_*``). The
    rest is how the fork runs: the recorded commands of the other teams
    after ``parent_seq`` replayed or dropped (``others``), the clock (``wall`` or
    ``lockstep`` with ``tick_budget_seconds`` a tick), and the last tick (0: the
    session's own timetable).
    """

    session_id: str
    parent_session_id: str
    parent_seq: int
    parent_digest: str
    takeover_team_id: str | None = None
    takeover_key_hash: str = ""
    others: str = "replay"  # "replay" | "drop"
    clock: str = "lockstep"  # "wall" | "lockstep"
    tick_budget_seconds: float = 1.0
    until_tick: int = 0
    wait_for_bot: bool = True  # lockstep: no tick before a bot under test said it is ready
    start_budget_seconds: float = 60.0  # lockstep: how long the first tick waits (a bot starts)
    # a new team for the bot under test, made by this record: ``TEAM_FORK_<parent_seq>``,
    # outside the counter the parent's later registrations draw their ids from
    join_name: str = ""
    join_role: str = ""
    join_key_hash: str = ""


class TickBudgetExpired(Command, frozen=True, kw_only=True, tag="tick_budget_expired"):
    """Lockstep: tick ``tick_number + 1`` starts although these teams never said they
    were done with ``tick_number`` (their per-tick budget ran out)."""

    tick_number: int
    team_ids: list[str]


# --------------------------------------------------------------------------- events


class Event(Record, frozen=True, kw_only=True):
    """An outcome produced by the core in answer to one command."""


class AdminApplied(Event, frozen=True, kw_only=True, tag="admin_applied"):
    """An admin command took effect: ``action`` is its tag, ``value`` what it set."""

    action: str
    team_id: str | None = None
    value: str | None = None
    request_id: str | None = None


class CompetitionEnded(Event, frozen=True, kw_only=True, tag="competition_ended"):
    """The closing bell rang: the last event of ``EndCompetition``. ``final_seq`` is this
    record's own seq, written out so that a reader of one record knows where the
    standings stop (``tradepit results``, the gateways, ``serve`` watching the log)."""

    final_seq: int
    tick_number: int
    request_id: str | None = None


class TeamRegistered(Event, frozen=True, kw_only=True, tag="team_registered"):
    team_id: str
    team_name: str
    role: str
    api_key_hash: str
    request_id: str | None = None


class OrderAccepted(Event, frozen=True, kw_only=True, tag="order_accepted"):
    order_id: str
    team_id: str
    instrument_id: str
    side: str
    order_type: str
    quantity: int
    price: int | None = None
    client_order_id: str | None = None
    request_id: str | None = None
    quote: bool = False  # one side of a market maker's quote
    duplicate: bool = False  # a repeated client_order_id: this restates the live original


class OrderRejected(Event, frozen=True, kw_only=True, tag="order_rejected"):
    """Any refused command: order, quote, cancel or registration. ``details`` is JSON-safe."""

    team_id: str | None
    code: str
    message: str
    details: dict[str, str | int | float | bool | None] = msgspec.field(default_factory=dict)
    command: str = ""  # tag of the refused command
    instrument_id: str | None = None
    order_id: str | None = None
    client_order_id: str | None = None
    request_id: str | None = None


class Trade(Event, frozen=True, kw_only=True, tag="trade"):
    """One fill between a resting (maker) and an incoming (taker) order."""

    trade_id: str
    instrument_id: str
    price: int
    quantity: int
    maker_order_id: str
    maker_team_id: str
    maker_side: str
    maker_fee: int  # signed cents to the maker team: + rebate, - paid
    maker_remaining: int
    taker_order_id: str
    taker_team_id: str
    taker_fee: int
    taker_remaining: int
    maker_client_order_id: str | None = None
    taker_client_order_id: str | None = None
    self_trade: bool = False  # both orders of one team: no fee, no rebate


class OrderCancelled(Event, frozen=True, kw_only=True, tag="order_cancelled"):
    order_id: str
    team_id: str
    instrument_id: str
    side: str
    cancelled_quantity: int
    reason: str
    client_order_id: str | None = None
    request_id: str | None = None


class PhaseChanged(Event, frozen=True, kw_only=True, tag="phase_changed"):
    phase: str
    previous: str


class TickStarted(Event, frozen=True, kw_only=True, tag="tick_started"):
    """``digest`` is the core's state digest as of the start of this tick."""

    tick_number: int
    phase: str
    digest: str


class UnderlyingPrices(Event, frozen=True, kw_only=True, tag="underlying_prices"):
    """The tick's model prices. ``fair`` and ``delta_ppm`` are what scoring marks with.

    ``fair``: every instrument's fair value in cents (options: Black-Scholes on this
    tick's underlying and regime), the marks of P&L. ``delta_ppm``: each instrument's
    Black-Scholes delta per unit of its underlying, in millionths (1_000_000 for an
    underlying). Both recorded rather than recomputed, so a scorer never needs the
    model and a log is scored by exactly the numbers the session ran on. Empty in logs
    recorded before they existed.
    """

    tick_number: int
    spx: int  # cents
    spy: int  # cents
    regime: str
    fair: dict[str, int] = msgspec.field(default_factory=dict)
    delta_ppm: dict[str, int] = msgspec.field(default_factory=dict)


class MarketData(Event, frozen=True, kw_only=True, tag="market_data"):
    instrument_id: str
    bid: int | None
    ask: int | None
    last: int | None
    bid_size: int
    ask_size: int
    fair: int | None = None  # model fair value in cents, for marks


class News(Event, frozen=True, kw_only=True, tag="news"):
    tick_number: int
    headline: str
    effect: str  # "regime_shift" | "price_jump" | "none"
    new_regime: str | None = None
    jump_bps: int | None = None  # signed basis points applied to SPX


class VolatilitySignal(Event, frozen=True, kw_only=True, tag="volatility_signal"):
    """Private to hedge funds."""

    tick_number: int
    current_regime: str
    forecast: str
    confidence: float
    ticks_until_change: int


class TrackingSignal(Event, frozen=True, kw_only=True, tag="tracking_signal"):
    """Private to arbitrage desks."""

    tick_number: int
    spx_price: int
    spy_price: int
    theoretical_spy: int
    tracking_error_bps: int  # signed basis points (SPY vs SPX/10)
    direction: str  # "SPY_RICH" | "SPY_CHEAP"
    z_score: float


Record_ = (
    StartSession
    | RegisterTeam
    | SubmitOrder
    | SubmitQuote
    | CancelOrder
    | CancelAll
    | ClockTick
    | ChangePhase
    | EngineStarted
    | DisableTeam
    | SetHouse
    | SetClock
    | SetRegistration
    | SetTrading
    | EnableTeam
    | EndCompetition
    | AddInvites
    | AdminApplied
    | CompetitionEnded
    | TeamRegistered
    | OrderAccepted
    | OrderRejected
    | Trade
    | OrderCancelled
    | PhaseChanged
    | TickStarted
    | UnderlyingPrices
    | MarketData
    | News
    | VolatilitySignal
    | TrackingSignal
    | ForkSession
    | TickBudgetExpired
)
AnyRecord = Record_

COMMANDS: tuple[type[Command], ...] = (
    StartSession,
    RegisterTeam,
    SubmitOrder,
    SubmitQuote,
    CancelOrder,
    CancelAll,
    ClockTick,
    ChangePhase,
    EngineStarted,
    DisableTeam,
    SetHouse,
    SetClock,
    SetRegistration,
    SetTrading,
    EnableTeam,
    EndCompetition,
    ForkSession,
    TickBudgetExpired,
    AddInvites,
)

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[AnyRecord] = msgspec.msgpack.Decoder(AnyRecord)


def encode(record: Record) -> bytes:
    return _encoder.encode(record)


def encode_into(record: Record, buffer: bytearray, offset: int) -> None:
    _encoder.encode_into(record, buffer, offset)


def decode(data: bytes | memoryview) -> AnyRecord:
    return _decoder.decode(data)


def is_command(record: Record) -> bool:
    return isinstance(record, Command)


R = TypeVar("R", bound=Record)


def stamp(record: R, seq: int, ts: int) -> R:
    """A copy of ``record`` with its sequence number and sequencer time set."""
    return msgspec.structs.replace(record, seq=seq, ts=ts)
