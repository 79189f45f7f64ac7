"""The price model: volatility regimes and news drawn ahead, SPX by GBM, SPY tracking SPX/10.

Every draw comes from the world's ``Random``, in a fixed order per tick. The future is
drawn ``lookahead`` ticks ahead, each tick with its headline (if any) and its regime, so
a hedge fund's forecast can be made before a change happens, whether the change comes
from the Markov chain or from a headline. Per drawn tick: the news first (see ``news``);
a regime-shift headline sets that tick's regime to a different one, otherwise the regime
makes its Markov step (its uniform is drawn either way, so the stream keeps its shape).

Per tick: a news jump moves SPX first, then ``S *= exp(-vol^2/2 * dt + vol * sqrt(dt) * Z)``.
SPY is ``SPX[t - lag] / 10 * (1 + e + n)``: ``e`` an AR(1) tracking error with
``phi = 0.5 ** (1 / half_life)`` and stationary std ``tracking.error_std``, ``n`` white
noise of std ``tracking.noise``.
"""

from __future__ import annotations

import math
from collections import deque
from random import Random

import msgspec

from engine.config import Config
from engine.market import NewsItem
from engine.market.news import Draft, NewsDesk

REGIMES = ("low", "medium", "high")  # the order of the columns of ``regimes.transitions``
TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600


class Ahead(msgspec.Struct, frozen=True):
    """One future tick: the regime in force during it and its headline."""

    regime: str
    news: Draft | None = None


class PriceModel:
    def __init__(self, config: Config, rng: Random, lookahead: int) -> None:
        self.config = config
        self.rng = rng
        self.dt = config.schedule.sim_seconds_per_tick / TRADING_SECONDS_PER_YEAR
        self.desk = NewsDesk(config.news, config.schedule.sim_seconds_per_tick)
        self.regime = config.regimes.initial
        self.lookahead = max(lookahead, 1)
        self.path: deque[Ahead] = deque()
        self._extend_path()
        underlyings = config.instruments.underlyings
        self.spx = underlyings[0].start_price / 100.0
        self.spy = underlyings[1].start_price / 100.0 if len(underlyings) > 1 else self.spx / 10
        tracking = config.tracking
        self.error = 0.0
        self.phi = 0.5 ** (1.0 / tracking.half_life_ticks) if tracking.half_life_ticks > 0 else 0.0
        self.history: deque[float] = deque(
            [self.spx] * (tracking.lag_ticks + 1), maxlen=tracking.lag_ticks + 1
        )
        self.elapsed_years = 0.0

    @property
    def vol(self) -> float:
        return self.config.regimes.vols[self.regime]

    def _draw_next(self, regime: str) -> Ahead:
        news = self.desk.draw(self.rng, [r for r in REGIMES if r != regime])
        u = self.rng.random()
        if news is not None and news.new_regime is not None:
            return Ahead(news.new_regime, news)
        acc = 0.0
        for name, p in zip(REGIMES, self.config.regimes.transitions[regime], strict=True):
            acc += p
            if u < acc:
                return Ahead(name, news)
        return Ahead(regime, news)  # rounding left a sliver above the last sum: stay

    def _extend_path(self) -> None:
        last = self.path[-1].regime if self.path else self.regime
        while len(self.path) < self.lookahead:
            ahead = self._draw_next(last)
            self.path.append(ahead)
            last = ahead.regime

    def step(self) -> NewsItem | None:
        """One tick: the regime and headline drawn for it come true, then SPX and SPY move."""
        now = self.path.popleft()
        self._extend_path()
        self.regime = now.regime
        draft = now.news
        if draft is not None and draft.jump:
            self.spx = max(self.spx * (1.0 + draft.jump), 0.01)
        vol, dt, rng = self.vol, self.dt, self.rng
        self.spx *= math.exp(-0.5 * vol * vol * dt + vol * math.sqrt(dt) * rng.gauss(0.0, 1.0))
        self.history.append(self.spx)
        tracking = self.config.tracking
        innovation = tracking.error_std * math.sqrt(max(1.0 - self.phi * self.phi, 0.0))
        self.error = self.phi * self.error + innovation * rng.gauss(0.0, 1.0)
        lagged = self.history[0]
        noise = tracking.noise * rng.gauss(0.0, 1.0)
        self.spy = max(lagged / 10.0 * (1.0 + self.error + noise), 0.01)
        self.elapsed_years += dt
        if draft is None:
            return None
        return NewsItem(
            headline=draft.headline,
            effect=draft.effect,
            new_regime=draft.new_regime,
            jump_bps=round(draft.jump * 10_000) if draft.effect == "price_jump" else None,
        )
