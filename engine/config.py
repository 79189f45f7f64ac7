"""The session config: TOML decoded by msgspec into typed structs.

Every number of the game lives here, with SPEC's values as defaults, so an empty file
is a valid config. A bad config fails at start with the key path and the reason
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
            order_types=("limit", "market", "quote"),
        ),
        "hedge_fund": RoleRules(
            maker_fee=1,
            taker_fee=-2,
            limit_per_option=150,
            limit_per_underlying=200,
            total_limit=500,
            orders_per_second=5,
            max_order_size=500,
            order_types=("limit", "market"),
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
            order_types=("limit", "market"),
        ),
        "retail": RoleRules(
            maker_fee=-1,
            taker_fee=-3,
            limit_per_option=None,
            limit_per_underlying=None,
            total_limit=50,
            orders_per_second=1,
            max_order_size=100,
            order_types=("limit", "market"),
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
    events_page_max: int = 2000
    events_history: int = 1_000_000  # per-team messages kept for resume; older: 410
    heartbeat_seconds: float = 1.0
    # a team's refused, repeated and empty writes (gateway/budget.py): the role's
    # orders_per_second a second, in bursts of this many seconds' worth; beyond, 429 here
    budget_burst_seconds: float = 2.0
    max_writes_in_flight: int = 32  # per team and gateway; more at once: 429 here


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
    # overlay onto the full defaults, so a file may set one key of a role or section
    return from_dict(_merge(msgspec.to_builtins(Config()), data))


def _check(config: Config) -> None:
    for role in ("market_maker", "hedge_fund", "arbitrage", "retail"):
        if role not in config.roles:
            raise ConfigError(f"invalid config: missing role - at `$.roles.{role}`")
    for name, rules in config.roles.items():
        for key in ("total_limit", "orders_per_second", "max_order_size"):
            if getattr(rules, key) <= 0:
                raise ConfigError(f"invalid config: must be > 0 - at `$.roles.{name}.{key}`")
    for regime, row in config.regimes.transitions.items():
        if abs(sum(row) - 1.0) > 1e-9:
            raise ConfigError(
                f"invalid config: probabilities must sum to 1 - at `$.regimes.transitions.{regime}`"
            )
    for key in ("budget_burst_seconds", "max_writes_in_flight"):
        if getattr(config.gateway, key) <= 0:
            raise ConfigError(f"invalid config: must be > 0 - at `$.gateway.{key}`")
    schedule = config.schedule
    if schedule.tick_seconds <= 0:
        raise ConfigError("invalid config: must be > 0 - at `$.schedule.tick_seconds`")
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


def canonical_json(config: Config) -> str:
    return msgspec.json.encode(config, order="sorted").decode()


def config_hash(config: Config) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def from_json(text: str) -> Config:
    return from_dict(msgspec.json.decode(text))
