"""The session config: TOML decoded by msgspec into typed structs.

Every number of the game lives here, with the values docs/rules.md states as defaults,
so an empty file is a valid config. A bad config fails at start with the key path and the reason
(msgspec names it: ``Expected `int`, got `str` - at `$.roles[...].max_order_size```).
Money is in integer cents. Each section belongs to one part of the system; add new
fields with defaults, at the end of their section.
"""

from __future__ import annotations

import datetime
import hashlib
import tomllib
import zoneinfo
from pathlib import Path
from typing import Literal

import msgspec

from engine import quote_width
from engine.order_types import ORDER_TYPES, QUOTE


class ConfigError(ValueError):
    """The config cannot be used; the message names the key path and the reason."""


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class RoleRules(_Section, frozen=True, kw_only=True):
    maker_fee: int  # signed cents per contract to the team: + rebate, - paid
    taker_fee: int
    limit_per_option: int | None  # None: no per-instrument limit
    limit_per_underlying: int | None
    total_limit: int  # sum of abs positions
    orders_per_second: int
    max_order_size: int
    order_types: tuple[str, ...]
    one_side_per_instrument: bool = False  # hedge fund: never both a resting bid and ask


def _default_roles() -> dict[str, RoleRules]:
    return {
        "market_maker": RoleRules(
            maker_fee=2,
            taker_fee=-1,
            limit_per_option=50,
            limit_per_underlying=50,
            total_limit=200,
            orders_per_second=10,
            max_order_size=1000,
            order_types=(*ORDER_TYPES, QUOTE),
        ),
        "hedge_fund": RoleRules(
            maker_fee=1,
            taker_fee=-2,
            limit_per_option=150,
            limit_per_underlying=200,
            total_limit=500,
            orders_per_second=5,
            max_order_size=500,
            order_types=tuple(ORDER_TYPES),
            one_side_per_instrument=True,
        ),
        "arbitrage": RoleRules(
            maker_fee=1,
            taker_fee=-2,
            limit_per_option=100,
            limit_per_underlying=100,
            total_limit=300,
            orders_per_second=7,
            max_order_size=500,
            order_types=tuple(ORDER_TYPES),
        ),
        "retail": RoleRules(
            maker_fee=-1,
            taker_fee=-3,
            limit_per_option=None,
            limit_per_underlying=None,
            total_limit=50,
            orders_per_second=1,
            max_order_size=100,
            order_types=tuple(ORDER_TYPES),
        ),
    }


class Underlying(_Section, frozen=True, kw_only=True):
    id: str
    start_price: int  # cents
    strikes: tuple[int, ...]  # whole dollars; one call and one put per strike


class InstrumentsConfig(_Section, frozen=True, kw_only=True):
    tick: int = 1  # cents
    option_multiplier: int = 100
    expiry_days: float = 5.0  # one weekly expiry, days to expiry at session start
    underlyings: tuple[Underlying, ...] = (
        Underlying(id="SPX", start_price=440_000, strikes=(4200, 4300, 4400, 4500, 4600)),
        Underlying(id="SPY", start_price=44_000, strikes=(420, 430, 440, 450, 460)),
    )
    max_price: int = 10_000_000  # cents; a larger price is INVALID_PRICE


class ScheduleConfig(_Section, frozen=True, kw_only=True):
    """When ticks and phases happen. ``profile`` picks the defaults' meaning."""

    profile: Literal["demo", "competition"] = "demo"
    tick_seconds: float = 1.0  # wall time between ticks
    # session time one tick represents (drives dt): the demo hour of 3600 ticks is 30
    # trading hours, so the weekly options (5 days of 6.5 h) near expiry by its end but
    # never pass it
    sim_seconds_per_tick: float = 30.0
    pre_open_ticks: int = 2
    auction_ticks: int = 1
    continuous_ticks: int = 3600  # an hour of continuous trading at one tick a second
    timezone: str = "America/Chicago"
    open_time: str = "09:30"
    close_time: str = "15:00"
    # "lockstep": the next tick starts once every bot under test said it is done with
    # this one (POST /lockstep/done), or after tick_budget_seconds of wall time; the
    # sequencer's time is then virtual (engine/shell/clock.py). "wall": every tick_seconds
    clock: Literal["wall", "lockstep"] = "wall"
    tick_budget_seconds: float = 1.0


class LogConfig(_Section, frozen=True, kw_only=True):
    fsync: Literal["always", "batch", "off"] = "batch"
    segment_bytes: int = 64 * 1024 * 1024
    index_every: int = 1024  # one sparse-index entry per this many records
    backend: Literal["file", "nats"] = "file"


class EngineConfig(_Section, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 0  # command socket; 0 = the gateway port + 1000
    max_batch: int = 1024  # commands group-committed together at most


class GatewayConfig(_Section, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 64 * 1024
    ws_queue_size: int = 4096  # messages buffered per connection before it is closed
    ws_max_connections_per_team: int = 8
    ws_max_connections: int = 10_000  # WebSocket connections per gateway; beyond: close 1013
    # anonymous /ws/public sockets per gateway, a cap of their own (beyond: close 1013),
    # so spectators never take a slot of ws_max_connections from a team
    ws_max_public_connections: int = 1000
    slow_client_seconds: float = 10.0  # a WebSocket write stalled this long aborts the client
    events_page_max: int = 2000
    events_history: int = 1_000_000  # per-team messages kept for resume; older: 410
    # and at most this many bytes of a team's own messages (a score_update every tick is
    # ~1 KB a team): older is served from the archive (0: no limit)
    events_history_bytes: int = 256 * 1024
    # the public stream's history for /ws/public?last_seq (a leaderboard of every team
    # per burst): a resume older than this many bytes is closed 4010 SNAPSHOT_REQUIRED
    public_history_bytes: int = 8 * 1024 * 1024
    heartbeat_seconds: float = 1.0
    # a dashboard page (/ws/public) is written at most this often, with everything since
    # its last write: a spectator sees 4 updates a second, and the bots' acks are not
    # queued behind a hundred page writes at every tick (0: every burst, at once)
    public_batch_seconds: float = 0.25
    # how often an idle gateway looks for new commits; a read or a write nudges it at once
    follow_poll_seconds: float = 0.002
    # a team's refused, repeated and empty writes (gateway/service/budget.py): the role's
    # orders_per_second a second, in bursts of this many seconds' worth; beyond, 429 here
    budget_burst_seconds: float = 2.0
    max_writes_in_flight: int = 32  # per team and gateway; more at once: 429 here
    # team registrations per client address and gateway, a minute (in bursts of as many);
    # beyond: 429 RATE_LIMIT_EXCEEDED with retry_after (0: no limit)
    registrations_per_minute: int = 30
    # history older than events_history is rebuilt by folding the log from seq 1
    # (gateway/service/archive.py); false: such a resume is 410 / close 4010 SNAPSHOT_REQUIRED
    archive: bool = True
    # the archive's fold shares the gateway's cores with the live stream: at most this
    # many records a second, over all its folds (0: no limit)
    archive_records_per_second: int = 50_000


class RegimeConfig(_Section, frozen=True, kw_only=True):
    vols: dict[str, float] = msgspec.field(
        default_factory=lambda: {"low": 0.10, "medium": 0.20, "high": 0.50}
    )
    transitions: dict[str, tuple[float, float, float]] = msgspec.field(
        default_factory=lambda: {
            "low": (0.95, 0.04, 0.01),
            "medium": (0.02, 0.94, 0.04),
            "high": (0.01, 0.09, 0.90),
        }
    )
    initial: str = "medium"


class TrackingConfig(_Section, frozen=True, kw_only=True):
    error_std: float = 0.0015
    half_life_ticks: float = 7.0
    lag_ticks: int = 1
    noise: float = 0.0005
    signal_threshold: float = 0.0015
    signal_accuracy: float = 0.80


class Headline(_Section, frozen=True, kw_only=True):
    text: str
    regime_shift: float
    jump: float


def _default_headlines() -> tuple[Headline, ...]:
    table = [
        ("Fed hints at tightening", 0.60, 0.20),
        ("Geopolitical tensions rise", 0.70, 0.30),
        ("Major acquisition announced", 0.40, 0.50),
        ("Economic data surprises", 0.50, 0.40),
        ("Strong jobs report", 0.40, 0.10),
        ("Earnings meet expectations", 0.20, 0.15),
        ("Technical breakout observed", 0.30, 0.25),
        ("Analyst upgrades sector", 0.15, 0.10),
        ("Markets quiet ahead of data", 0.05, 0.0),
        ("Trading range-bound", 0.05, 0.05),
        ("No major news today", 0.0, 0.0),
    ]
    return tuple(Headline(text=t, regime_shift=r, jump=j) for t, r, j in table)


class NewsConfig(_Section, frozen=True, kw_only=True):
    mean_gap_sim_seconds: float = 2.5 * 3600
    kind_weights: dict[str, float] = msgspec.field(
        default_factory=lambda: {"regime_shift": 0.4, "price_jump": 0.3, "none": 0.3}
    )
    jump_min: float = 0.005
    jump_max: float = 0.02
    headlines: tuple[Headline, ...] = msgspec.field(default_factory=_default_headlines)


class SignalsConfig(_Section, frozen=True, kw_only=True):
    volatility_accuracy: float = 0.66
    volatility_min_lead: int = 1
    volatility_max_lead: int = 5


class RetailConfig(_Section, frozen=True, kw_only=True):
    enabled: bool = True
    participants: int = 5
    orders_per_tick: float = 3.0
    max_orders_per_tick: int = 10
    size_mean: float = 5.0
    size_min: int = 1
    size_max: int = 50
    buy_share: float = 0.5
    call_share: float = 0.6
    otm_share: float = 0.7
    market_share: float = 0.4
    limit_aggressive: float = 0.3
    limit_passive: float = 0.5
    limit_far: float = 0.2
    max_position: int = 50


class HouseConfig(_Section, frozen=True, kw_only=True):
    enabled: bool = True
    size: int = 20
    half_spread_bps: int = 150  # half the quoted spread, in basis points of fair value
    min_half_spread: int = 5  # cents


class MarketDataConfig(_Section, frozen=True, kw_only=True):
    max_per_tick: int = 1  # market_data messages per instrument per tick at most


class AdminConfig(_Section, frozen=True, kw_only=True):
    token: str | None = None  # or TRADEPIT_ADMIN_TOKEN in the environment


class PriceLimitsConfig(_Section, frozen=True, kw_only=True):
    """The price band (docs/rules.md, The price band): how far from fair value an order may go.

    The band of an instrument is its fair value +- ``max_deviation_percent`` of it, and
    for an option never narrower than +- ``option_min_deviation_cents`` (20% of a cheap
    option is only a few cents). ``through_band`` says what happens to a limit order
    priced beyond the band on its marketable side (a buy above it, a sell below it) in
    continuous trading: ``"trade_within"`` takes what rests inside the band up to its
    price and cancels the rest (``out_of_band``), ``"refuse"`` refuses it like every other
    out-of-band price.
    """

    enabled: bool = True
    max_deviation_percent: int = 20
    option_min_deviation_cents: int = 50
    through_band: Literal["trade_within", "refuse"] = "trade_within"


class QuoteWidth(_Section, frozen=True, kw_only=True):
    below: int  # cents: the row applies to a quote whose bid is under this
    spread: int  # cents: the widest spread the row allows


class QuotesConfig(_Section, frozen=True, kw_only=True):
    """How wide a two-sided quote may be (``engine/quote_width.py``): the larger of
    ``max_spread_bps`` of its mid and the width of the first ``widths`` row whose
    ``below`` exceeds its bid. The exchange refuses a wider quote and the scorer counts
    a market maker's good quotes by the same rule. Ten percent alone leaves an option
    under ten cents with no valid quote at all; under $1.00 the default allows 10 cents,
    which is 10% of a $1.00 mid, so the allowance never shrinks as a price rises.
    """

    max_spread_bps: int = 1000  # of the mid
    widths: tuple[QuoteWidth, ...] = (QuoteWidth(below=100, spread=10),)


class ExecutionConfig(_Section, frozen=True, kw_only=True):
    # a fill between two orders of one team: "allow" (no fee, no rebate, marked
    # self_trade) or "prevent" (the incoming order's remainder is cancelled instead)
    self_trade: Literal["allow", "prevent"] = "allow"


class TeamsConfig(_Section, frozen=True, kw_only=True):
    registration_open: bool = True  # at session start; admin calls open and close it
    max_teams: int = 500  # registered teams (the simulated ones not counted)
    # "invite": a registration needs an unused code from POST /admin/invites
    registration: Literal["open", "invite"] = "open"


class ScoringConfig(_Section, frozen=True, kw_only=True):
    """docs/scoring.md: every weight, threshold and window. Money in integer cents.

    Per-tick figures (coverage, penalties) count only on ticks whose phase is in
    ``phases``; P&L, drawdown and Sharpe use every tick.
    """

    public_leaderboard: bool = True  # GET /leaderboard without a key
    score_updates: bool = True  # a score_update on each team's stream once per tick
    phases: tuple[str, ...] = ("continuous",)
    # SPX terms: an SPY contract counts 1/10 of an SPX one (balance and portfolio delta)
    family_weights: dict[str, float] = msgspec.field(
        default_factory=lambda: {"SPX": 1.0, "SPY": 0.1}
    )
    # market maker
    mm_instruments: tuple[str, ...] = ()  # the instruments to cover; empty: all of them
    # retired: a good quote's width is the exchange's quote rule, ``[quotes]``; kept so
    # that the logs recorded before it still decode (a config file may not set it)
    mm_max_spread_bps: int = 1000
    mm_min_size: int = 1  # contracts resting at a good quote's best price, each side
    mm_min_uptime: float = 0.80  # coverage required over every window
    mm_window_seconds: float = 300.0  # market time of a rolling uptime window
    mm_breach_penalty: int = 10_000  # per window under mm_min_uptime
    mm_inventory_limit: int = 50  # net contracts per product family before the penalty
    mm_inventory_penalty: int = 10  # per net contract beyond the limit, per family, per tick
    # hedge fund
    hf_delta_limit: float = 50.0
    hf_delta_penalty: int = 10  # per delta beyond the limit, per tick
    hf_forecast_ticks: int = 3  # the ticks after a volatility_forecast whose P&L is shown
    # arbitrage desk
    arb_max_ratio: float = 2.0  # larger family exposure over the smaller
    arb_balance_penalty: int = 1_000  # per tick out of balance
    arb_signal_ticks: int = 3  # trades this many ticks after a tracking_error are signal trades
    arb_bonus_ticks: int = 1  # a trade within this many ticks of a signal earns the bonus
    arb_signal_bonus: int = 5_000  # per signal traded on, once
    # what an unmet requirement (a market maker's uptime) does to the rank within the
    # role: "rank_after" ranks the team after every team that met its requirements,
    # "flag" only shows it (unmet, requirements_met) beside a rank by score
    unmet_requirement: Literal["flag", "rank_after"] = "rank_after"
    # a good quote the band sweep cancelled (fair values jumped) counts covered for this
    # many ticks while the maker re-quotes (0: no grace)
    mm_sweep_grace_ticks: int = 2


class Config(_Section, frozen=True, kw_only=True):
    schedule: ScheduleConfig = ScheduleConfig()
    instruments: InstrumentsConfig = InstrumentsConfig()
    roles: dict[str, RoleRules] = msgspec.field(default_factory=_default_roles)
    regimes: RegimeConfig = RegimeConfig()
    tracking: TrackingConfig = TrackingConfig()
    news: NewsConfig = NewsConfig()
    signals: SignalsConfig = SignalsConfig()
    retail: RetailConfig = RetailConfig()
    house: HouseConfig = HouseConfig()
    market_data: MarketDataConfig = MarketDataConfig()
    log: LogConfig = LogConfig()
    engine: EngineConfig = EngineConfig()
    gateway: GatewayConfig = GatewayConfig()
    admin: AdminConfig = AdminConfig()
    price_limits: PriceLimitsConfig = PriceLimitsConfig()
    execution: ExecutionConfig = ExecutionConfig()
    teams: TeamsConfig = TeamsConfig()
    scoring: ScoringConfig = ScoringConfig()
    quotes: QuotesConfig = QuotesConfig()


COMPETITION: dict[str, object] = {
    "schedule": {
        "profile": "competition",
        "tick_seconds": 300.0,
        "sim_seconds_per_tick": 300.0,
        "pre_open_ticks": 1,
        "auction_ticks": 1,
        "continuous_ticks": 64,  # 09:30-15:00 at one tick every 5 minutes is 66 ticks
    }
}


def _merge(base: dict[str, object], over: dict[str, object]) -> dict[str, object]:
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = _merge(old, value)
        else:
            out[key] = value
    return out


#: Keys a config file may no longer set, and the key that took over their meaning. The
#: structs keep them, so that a log recorded before the change still decodes.
RETIRED = {("scoring", "mm_max_spread_bps"): "[quotes] max_spread_bps"}


def _refuse_retired(data: dict[str, object]) -> None:
    for (section, key), instead in RETIRED.items():
        values = data.get(section)
        if isinstance(values, dict) and key in values:
            raise ConfigError(f"invalid config: retired, set {instead} - at `$.{section}.{key}`")


def from_dict(data: dict[str, object]) -> Config:
    try:
        config = msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid config: {exc}") from None
    _check(config)
    return config


def load(path: str | Path | None = None, **overrides: object) -> Config:
    """The embedded defaults, overlaid by a TOML file (if any), then by ``overrides``."""
    data: dict[str, object] = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config {path} is not valid TOML: {exc}") from None
        profile = data.get("schedule", {})
        if isinstance(profile, dict) and profile.get("profile") == "competition":
            data = _merge(COMPETITION, data)
    data = _merge(data, dict(overrides))
    _refuse_retired(data)
    # overlay onto the full defaults, so a file may set one key of a role or section
    return from_dict(_merge(msgspec.to_builtins(Config()), data))


def _check(config: Config) -> None:
    for role in ("market_maker", "hedge_fund", "arbitrage", "retail"):
        if role not in config.roles:
            raise ConfigError(f"invalid config: missing role - at `$.roles.{role}`")
    for name, rules in config.roles.items():
        for kind in rules.order_types:
            if kind not in ORDER_TYPES and kind != QUOTE:
                names = ", ".join((*ORDER_TYPES, QUOTE))
                raise ConfigError(
                    f"invalid config: unknown order type {kind!r} (one of {names})"
                    f" - at `$.roles.{name}.order_types`"
                )
        for key in ("total_limit", "orders_per_second", "max_order_size"):
            if getattr(rules, key) <= 0:
                raise ConfigError(f"invalid config: must be > 0 - at `$.roles.{name}.{key}`")
    for regime, row in config.regimes.transitions.items():
        if abs(sum(row) - 1.0) > 1e-9:
            raise ConfigError(
                f"invalid config: probabilities must sum to 1 - at `$.regimes.transitions.{regime}`"
            )
    for key in ("ws_max_connections", "ws_max_public_connections", "slow_client_seconds",
                "budget_burst_seconds", "max_writes_in_flight"):  # fmt: skip
        if getattr(config.gateway, key) <= 0:
            raise ConfigError(f"invalid config: must be > 0 - at `$.gateway.{key}`")
    limits = config.price_limits
    if limits.max_deviation_percent < 5:
        # the house quotes up to 5% either side of fair (a spread of 10% of mid)
        raise ConfigError(
            "invalid config: must be >= 5 (the house quotes up to 5% from fair)"
            " - at `$.price_limits.max_deviation_percent`"
        )
    if limits.option_min_deviation_cents < 0:
        raise ConfigError(
            "invalid config: must be >= 0 - at `$.price_limits.option_min_deviation_cents`"
        )
    if config.teams.max_teams < 0:
        raise ConfigError("invalid config: must be >= 0 - at `$.teams.max_teams`")
    for key in ("events_history_bytes", "public_history_bytes", "registrations_per_minute"):
        if getattr(config.gateway, key) < 0:
            raise ConfigError(f"invalid config: must be >= 0 - at `$.gateway.{key}`")
    if config.gateway.archive_records_per_second < 0:
        raise ConfigError(
            "invalid config: must be >= 0 - at `$.gateway.archive_records_per_second`"
        )
    if not config.gateway.public_batch_seconds >= 0:  # NaN too
        raise ConfigError("invalid config: must be >= 0 - at `$.gateway.public_batch_seconds`")
    if config.gateway.follow_poll_seconds <= 0:
        raise ConfigError("invalid config: must be > 0 - at `$.gateway.follow_poll_seconds`")
    schedule = config.schedule
    if schedule.tick_seconds <= 0:
        raise ConfigError("invalid config: must be > 0 - at `$.schedule.tick_seconds`")
    if not schedule.tick_budget_seconds > 0:
        raise ConfigError("invalid config: must be > 0 - at `$.schedule.tick_budget_seconds`")
    try:
        zoneinfo.ZoneInfo(schedule.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError("invalid config: unknown time zone - at `$.schedule.timezone`") from None
    times = {}
    for key in ("open_time", "close_time"):
        try:
            times[key] = datetime.time.fromisoformat(getattr(schedule, key))
        except ValueError:
            raise ConfigError(f"invalid config: expected HH:MM - at `$.schedule.{key}`") from None
    if times["open_time"] >= times["close_time"]:
        raise ConfigError("invalid config: must be after open_time - at `$.schedule.close_time`")
    _check_scoring(config)
    _check_quotes(config)


def _check_quotes(config: Config) -> None:
    q = config.quotes

    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"invalid config: {why} - at `$.quotes.{key}`")

    if q.max_spread_bps < 0:
        raise bad("max_spread_bps", "must be >= 0")
    if config.house.enabled and q.max_spread_bps < 1000:
        # a refused house quote would leave its previous one standing at a stale price
        raise bad("max_spread_bps", "must be >= 1000 (the house quotes up to 10% of mid)")
    below = 0
    for i, row in enumerate(q.widths):
        if row.below <= below:
            raise bad(f"widths[{i}].below", "must be > 0 and above the previous row's")
        if row.spread < 0:
            raise bad(f"widths[{i}].spread", "must be >= 0")
        below = row.below
    hole = quote_width.gap(q, config.instruments.tick)
    if hole is not None:
        raise bad(
            "widths",
            f"no quote is valid at a bid of {hole} cents (not even one tick wide):"
            " widen a row or extend the table",
        )


def _check_scoring(config: Config) -> None:
    s = config.scoring

    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"invalid config: {why} - at `$.scoring.{key}`")

    for key in ("mm_breach_penalty", "mm_inventory_penalty", "hf_delta_penalty",
                "arb_balance_penalty", "arb_signal_bonus", "mm_inventory_limit",
                "mm_max_spread_bps", "hf_forecast_ticks", "arb_signal_ticks",
                "arb_bonus_ticks", "mm_sweep_grace_ticks"):  # fmt: skip
        if getattr(s, key) < 0:
            raise bad(key, "must be >= 0")
    if s.mm_min_size < 1:
        raise bad("mm_min_size", "must be >= 1")
    if not 0.0 <= s.mm_min_uptime <= 1.0:
        raise bad("mm_min_uptime", "must be between 0 and 1")
    if s.mm_window_seconds <= 0:
        raise bad("mm_window_seconds", "must be > 0")
    if s.hf_delta_limit < 0:
        raise bad("hf_delta_limit", "must be >= 0")
    if s.arb_max_ratio < 1.0:
        raise bad("arb_max_ratio", "must be >= 1")
    for phase in s.phases:
        if phase not in ("closed", "pre_open", "opening_auction", "continuous"):
            raise bad("phases", f"unknown phase {phase!r}")
    for family, weight in s.family_weights.items():  # a family without a weight counts 1
        if not weight > 0:
            raise bad(f"family_weights.{family}", "must be > 0")
    ids = {u.id for u in config.instruments.underlyings} | {
        f"{u.id}_{k}_{kind}" for u in config.instruments.underlyings
        for k in u.strikes for kind in ("CALL", "PUT")
    }  # fmt: skip
    for iid in s.mm_instruments:
        if iid not in ids:
            raise bad("mm_instruments", f"unknown instrument {iid!r}")


def canonical_json(config: Config) -> str:
    return msgspec.json.encode(config, order="sorted").decode()


def recorded(config: Config) -> Config:
    """The config as the session record keeps it: without the admin token.

    A finished session directory is shared (operations.md), and the token would let any
    reader of it steer a live session that uses it; the engine never needs it (gateways
    read it from their own config or ``TRADEPIT_ADMIN_TOKEN``).
    """
    if config.admin.token is None:
        return config
    return msgspec.structs.replace(config, admin=AdminConfig())


def config_hash(config: Config) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def from_json(text: str) -> Config:
    return from_dict(msgspec.json.decode(text))
