"""What the scorer keeps per team: the account as scoring sees it, the KPIs' running
sums and the per-tick series. Plain containers; ``fold.py`` is the only writer.
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec


def _ints() -> array[int]:
    return array("q")


def _floats() -> array[float]:
    return array("d")


class Resting(msgspec.Struct, gc=False):
    """A market maker's resting limit order, as coverage needs it. ``gc=False``, as
    ``gateway.projection.entities.OpenOrder`` and for its reason: scalars only."""

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


class Samples:
    """The tick samples of a session, once for every team: each one's tick and log seq.

    Every team is sampled at every sample after it registers, so a team's rows are a
    contiguous slice of these (``Series.first`` on); keeping them here instead of in
    each team's series saves 16 bytes per team per tick.
    """

    __slots__ = ("seq", "tick")

    def __init__(self) -> None:
        self.tick: array[int] = _ints()
        self.seq: array[int] = _ints()

    def index(self, tick: int, seq: int) -> int:
        """The sample at log seq ``seq``, added when it is the first team sampled there."""
        seqs = self.seq
        if not seqs or seqs[-1] != seq:
            self.tick.append(tick)
            seqs.append(seq)
        return len(seqs) - 1


class _Column:
    """One column of a series, run-length encoded: a value is kept where it changes."""

    __slots__ = ("starts", "values")

    def __init__(self, kind: str) -> None:
        self.starts: array[int] = _ints()  # the row each run begins at
        self.values: array[Any] = array(kind)

    def add(self, row: int, value: float) -> None:
        values = self.values
        if values:
            last = values[-1]
            # NaN (not a market maker, or no KPI tick yet) is never equal to itself
            if last == value or (last != last and value != value):
                return
        self.starts.append(row)
        values.append(value)

    def expand(self, rows: int) -> list[Any]:
        out: list[Any] = []
        starts, values = self.starts, self.values
        for i, value in enumerate(values):
            end = starts[i + 1] if i + 1 < len(starts) else rows
            out.extend([value] * (end - starts[i]))
        return out


class Series:
    """One row per tick since the team registered, each column run-length encoded.

    A row was 56 bytes per team per tick (1.2 MB per team over a 6-hour day at one tick
    a second, issue 38 item 5), though an idle team's columns never change and a market
    maker's often only its score (a breach penalty per tick). So each column keeps a
    value only where it changes; the columns read back as full per-tick lists, as
    before. Tick and seq are the shared ``Samples``.
    """

    __slots__ = ("_coverage", "_delta", "_pnl", "_position", "_score", "first", "rows",
                 "samples")  # fmt: skip

    def __init__(self, samples: Samples | None = None) -> None:
        self.samples = samples if samples is not None else Samples()
        self.first = -1  # the sample index of the team's first row
        self.rows = 0
        self._pnl = _Column("q")  # cents
        self._score = _Column("q")  # cents
        self._position = _Column("q")  # sum of absolute positions
        self._delta = _Column("d")  # SPX terms
        self._coverage = _Column("d")  # market makers; else NaN

    def __len__(self) -> int:
        return self.rows

    def append(
        self, tick: int, seq: int, pnl: int, score: int, position: int, delta: float,
        coverage: float,
    ) -> None:  # fmt: skip
        index = self.samples.index(tick, seq)
        if self.first < 0:
            self.first = index
        elif index != self.first + self.rows:  # never: every team is sampled every time
            raise ValueError(f"series gap: sample {index} after {self.first + self.rows - 1}")
        row = self.rows
        self.rows += 1
        self._pnl.add(row, pnl)
        self._score.add(row, score)
        self._position.add(row, position)
        self._delta.add(row, delta)
        self._coverage.add(row, coverage)

    @property
    def tick(self) -> list[int]:
        return list(self.samples.tick[self.first : self.first + self.rows])

    @property
    def seq(self) -> list[int]:
        return list(self.samples.seq[self.first : self.first + self.rows])

    @property
    def pnl(self) -> list[int]:
        return self._pnl.expand(self.rows)

    @property
    def score(self) -> list[int]:
        return self._score.expand(self.rows)

    @property
    def position(self) -> list[int]:
        return self._position.expand(self.rows)

    @property
    def delta(self) -> list[float]:
        return self._delta.expand(self.rows)

    @property
    def coverage(self) -> list[float]:
        return self._coverage.expand(self.rows)


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
    series: Series = field(default_factory=Series)  # the scorer passes its Samples

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
