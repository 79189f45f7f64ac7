"""The simulated market: prices, regimes, news, signals and the simulated participants.

Pure and deterministic: every draw comes from one RNG seeded with the session seed.
The exchange core calls ``Market.on_tick`` once per ``ClockTick`` and turns the
returned ``TickOutput`` into log events and into orders of the simulated teams.
"""

from __future__ import annotations

from typing import Protocol

import msgspec


class MarketView(Protocol):
    """What the simulation may read of the exchange state (read only)."""

    def best_bid(self, instrument_id: str) -> tuple[int, int] | None:
        """(price cents, aggregated size) of the best bid, or None."""

    def best_ask(self, instrument_id: str) -> tuple[int, int] | None: ...

    def position(self, team_id: str, instrument_id: str) -> int: ...

    def total_position(self, team_id: str) -> int:
        """Sum of absolute positions of a team."""


class SimOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order of a simulated participant; goes through the core like anyone's."""

    team_id: str
    instrument_id: str
    side: str  # "buy" | "sell"
    quantity: int
    order_type: str  # "limit" | "market"
    price: int | None = None  # cents


class SimQuote(msgspec.Struct, frozen=True, kw_only=True):
    """A two-sided quote of the house liquidity provider."""

    team_id: str
    instrument_id: str
    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int


class NewsItem(msgspec.Struct, frozen=True, kw_only=True):
    headline: str
    effect: str  # "regime_shift" | "price_jump" | "none"
    new_regime: str | None = None
    jump_bps: int | None = None


class VolForecast(msgspec.Struct, frozen=True, kw_only=True):
    current_regime: str
    forecast: str
    confidence: float
    ticks_until_change: int


class TrackingError(msgspec.Struct, frozen=True, kw_only=True):
    spx_price: int
    spy_price: int
    theoretical_spy: int
    tracking_error_bps: int
    direction: str  # "SPY_RICH" | "SPY_CHEAP"
    z_score: float


class TickOutput(msgspec.Struct, frozen=True, kw_only=True):
    spx: int  # cents
    spy: int  # cents
    regime: str
    fair: dict[str, int]  # instrument id -> fair value in cents (Black-Scholes for options)
    news: tuple[NewsItem, ...] = ()
    vol_forecasts: tuple[VolForecast, ...] = ()
    tracking: tuple[TrackingError, ...] = ()
    quotes: tuple[SimQuote, ...] = ()  # house quotes, each replacing the previous one
    orders: tuple[SimOrder, ...] = ()  # retail flow
    # instruments where the house can quote nothing valid (fair value under 10 cents): the
    # core pulls the house's resting quote there, if any, so no stale price stays behind
    withdrawn: tuple[str, ...] = ()
    # Black-Scholes delta per unit of underlying, in millionths (scoring's portfolio delta)
    delta_ppm: dict[str, int] = msgspec.field(default_factory=dict)


class SimTeam(msgspec.Struct, frozen=True, kw_only=True):
    """A simulated participant the core registers at session start (no API key)."""

    team_id: str
    team_name: str
    role: str
    exempt_from_limits: bool = False  # the house: liquidity, not a competitor
