"""What the scorer keeps per team: the account as scoring sees it, the KPIs' running
sums and the per-tick series. Plain containers; ``fold.py`` is the only writer.
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field


def _ints() -> array[int]:
    return array("q")


def _floats() -> array[float]:
    return array("d")


@dataclass(slots=True)
class Resting:
    """A market maker's resting limit order, as coverage needs it."""

    instrument_id: str
    buy: bool
    price: int
    remaining: int
    seq: int = 0  # of its acceptance: resting at a tick sample when below the sample's seq


@dataclass(slots=True)
class Quotes:
    """A market maker's resting size at each price, per instrument and side.

    Coverage needs only the best price of each side and the size there; kept here as
    the orders come and go, a tick costs the price levels, not the resting orders (a
    maker with 8,000 orders resting made every tick's fold 4 ms long). No empty level
    or instrument is kept."""

    bids: dict[str, dict[int, int]] = field(default_factory=dict)
    asks: dict[str, dict[int, int]] = field(default_factory=dict)

    def add(self, order: Resting) -> None:
        side = self.bids if order.buy else self.asks
        levels = side.get(order.instrument_id)
        if levels is None:
            levels = side[order.instrument_id] = {}
        levels[order.price] = levels.get(order.price, 0) + order.remaining

    def remove(self, order: Resting, quantity: int) -> None:
        """``quantity`` of ``order`` no longer rests (filled or cancelled)."""
        side = self.bids if order.buy else self.asks
        levels = side[order.instrument_id]
        left = levels[order.price] - quantity
        if left:
            levels[order.price] = left
        else:
            del levels[order.price]
            if not levels:
                del side[order.instrument_id]


@dataclass(slots=True)
class Series:
    """One row per tick since the team registered, column-wise (compact, cheap to append)."""

    tick: array[int] = field(default_factory=_ints)
    seq: array[int] = field(default_factory=_ints)  # the log seq the row is as of
    pnl: array[int] = field(default_factory=_ints)  # cents
    score: array[int] = field(default_factory=_ints)  # cents
    position: array[int] = field(default_factory=_ints)  # sum of absolute positions
    delta: array[float] = field(default_factory=_floats)  # SPX terms
    coverage: array[float] = field(default_factory=_floats)  # market makers; else NaN


@dataclass(slots=True)
class TeamScore:
    team_id: str
    team_name: str
    role: str
    registered_seq: int
    disabled: bool = False
    # the account, in cents, fees included in cash
    cash: int = 0
    fees: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    cost: dict[str, int] = field(default_factory=dict)  # cost basis of each open position
    realised: int = 0  # closed at average cost, before fees
    volume: int = 0  # contracts, self-trades excluded
    trades: int = 0
    # per-tick statistics of P&L
    samples: int = 0
    last_pnl: int = 0
    sum_change: int = 0
    sum_change_sq: int = 0
    peak: int = 0
    max_drawdown: int = 0
    delta: float = 0.0  # as of the last tick
    # penalties and bonuses, cents
    inventory_penalty: int = 0
    breach_penalty: int = 0
    delta_penalty: int = 0
    balance_penalty: int = 0
    signal_bonus: int = 0
    # market maker
    orders: dict[str, Resting] = field(default_factory=dict)  # resting, by order id
    quotes: Quotes = field(default_factory=Quotes)  # the same orders, by price level
    kpi_ticks: int = 0
    covered: int = 0  # instruments covered, summed over KPI ticks
    coverage: float | None = None  # share covered at the last KPI tick
    window: deque[int] = field(default_factory=deque)
    window_sum: int = 0
    breaches: int = 0
    good: set[str] = field(default_factory=set)  # instruments with a good quote, last sample
    swept: dict[str, int] = field(default_factory=dict)  # good quotes the band pulled: tick
    relieved: int = 0  # instrument-ticks counted covered by the sweep grace
    spread_captured: int = 0  # maker fills: price vs mark, in the team's favour
    # hedge fund
    hedge_cash: int = 0  # cash of underlying (rehedging) trades
    hedge_positions: dict[str, int] = field(default_factory=dict)
    forecast_pnl: int = 0
    news_base: int = 0  # P&L at the last news
    # arbitrage desk
    balance_breaches: int = 0
    signal_cash: int = 0
    signal_positions: dict[str, int] = field(default_factory=dict)
    signals_traded: int = 0
    awarded: list[int] = field(default_factory=list)  # signal ticks that paid a bonus (recent)
    series: Series = field(default_factory=Series)

    @property
    def penalties(self) -> int:
        return (
            self.inventory_penalty
            + self.breach_penalty
            + self.delta_penalty
            + (self.balance_penalty)
        )

    @property
    def bonuses(self) -> int:
        return self.signal_bonus
