"""The price model: volatility regimes, SPX by GBM, SPY tracking SPX/10, and news shocks.

Every draw comes from the one ``Random`` the simulator owns, in a fixed order per tick.
The regime path is drawn ``lookahead`` ticks ahead, so a hedge fund's forecast can be
made before a change happens.
"""

from __future__ import annotations

import math
from collections import deque
from random import Random

from engine.config import Config, Headline
from engine.market import NewsItem

REGIMES = ("low", "medium", "high")
TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600


class PriceModel:
    def __init__(self, config: Config, rng: Random, lookahead: int) -> None:
        self.config = config
        self.rng = rng
        self.dt = config.schedule.sim_seconds_per_tick / TRADING_SECONDS_PER_YEAR
        self.regime = config.regimes.initial
        self.lookahead = max(lookahead, 1)
        self.path: deque[str] = deque()
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

    def _draw_next(self, regime: str) -> str:
        row = self.config.regimes.transitions[regime]
        u = self.rng.random()
        acc = 0.0
        for name, p in zip(REGIMES, row, strict=True):
            acc += p
            if u < acc:
                return name
        return REGIMES[-1]

    def _extend_path(self) -> None:
        last = self.path[-1] if self.path else self.regime
        while len(self.path) < self.lookahead:
            last = self._draw_next(last)
            self.path.append(last)

    def shift_regime(self, regime: str) -> None:
        """News moved the regime: it holds from this tick, and the drawn future is redrawn."""
        self.regime = regime
        self.path.clear()
        self.path.append(regime)  # what this tick's ``step`` takes: the headline's regime
        self._extend_path()

    def step(self) -> None:
        """One tick: the regime advances along its path, then SPX and SPY move."""
        self.regime = self.path.popleft()
        self._extend_path()
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

    def jump(self, fraction: float) -> None:
        self.spx = max(self.spx * (1.0 + fraction), 0.01)

    def news(self) -> NewsItem | None:
        """A headline with probability 1 - exp(-tick / mean gap), and its effect applied.

        The kind is drawn first (SPEC's 40/30/30), then a headline weighted by its
        published probability of that kind, so both the mix of kinds and each
        headline's character hold.
        """
        cfg = self.config.news
        p = 1.0 - math.exp(-self.config.schedule.sim_seconds_per_tick / cfg.mean_gap_sim_seconds)
        if self.rng.random() >= p:
            return None
        kinds = list(cfg.kind_weights)
        kind = self.rng.choices(kinds, weights=[cfg.kind_weights[k] for k in kinds])[0]
        headlines = cfg.headlines

        def weight(h: Headline) -> float:
            if kind == "regime_shift":
                return h.regime_shift
            if kind == "price_jump":
                return h.jump
            return max(1.0 - h.regime_shift - h.jump, 0.0)

        weights = [weight(h) for h in headlines]
        if sum(weights) <= 0:
            weights = [1.0] * len(headlines)
        headline = self.rng.choices(headlines, weights=weights)[0]
        if kind == "regime_shift":
            regime = self.rng.choice([r for r in REGIMES if r != self.regime])
            self.shift_regime(regime)
            return NewsItem(headline=headline.text, effect=kind, new_regime=regime)
        if kind == "price_jump":
            size = self.rng.uniform(cfg.jump_min, cfg.jump_max) * self.rng.choice((-1.0, 1.0))
            self.jump(size)
            return NewsItem(headline=headline.text, effect=kind, jump_bps=round(size * 10_000))
        return NewsItem(headline=headline.text, effect="none")
