"""SPX by geometric Brownian motion, and SPY tracking a lagged SPX/10.

SPX: ``S *= exp(-vol^2/2 * dt + vol * sqrt(dt) * Z)`` (zero drift in expectation), after
any news jump of the tick. SPY: ``SPX[t - lag] / 10 * (1 + e + n)``, where ``e`` is an
AR(1) tracking error ``e' = phi * e + sigma * sqrt(1 - phi^2) * Z`` with
``phi = 0.5 ** (1 / half_life)`` (so its stationary std is ``tracking.error_std`` and a gap
halves in ``half_life`` ticks) and ``n`` is white noise of std ``tracking.noise``.
Prices are floats in dollars here; the simulator rounds them to cents at its edge.
"""

from __future__ import annotations

import math
from collections import deque
from random import Random

from engine.config import Config

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
MIN_PRICE = 0.01


class Prices:
    def __init__(self, config: Config) -> None:
        self.tracking = config.tracking
        self.dt = config.schedule.sim_seconds_per_tick / TRADING_SECONDS_PER_YEAR
        underlyings = config.instruments.underlyings
        self.spx = underlyings[0].start_price / 100.0
        self.spy = underlyings[1].start_price / 100.0 if len(underlyings) > 1 else self.spx / 10
        half_life = self.tracking.half_life_ticks
        self.phi = 0.5 ** (1.0 / half_life) if half_life > 0 else 0.0
        self.error = 0.0
        lag = max(self.tracking.lag_ticks, 0)
        self.history: deque[float] = deque([self.spx] * (lag + 1), maxlen=lag + 1)
        self.elapsed_years = 0.0

    def step(self, rng: Random, vol: float, jump: float = 0.0) -> None:
        """One tick: three normal draws, always, in this order (SPX, error, noise)."""
        dt = self.dt
        z_spx, z_err, z_noise = rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0)
        spx = self.spx * (1.0 + jump)
        spx *= math.exp(-0.5 * vol * vol * dt + vol * math.sqrt(dt) * z_spx)
        self.spx = max(spx, MIN_PRICE)
        self.history.append(self.spx)
        t = self.tracking
        self.error = self.phi * self.error + t.error_std * math.sqrt(1.0 - self.phi**2) * z_err
        lagged = self.history[0]
        self.spy = max(lagged / 10.0 * (1.0 + self.error + t.noise * z_noise), MIN_PRICE)
        self.elapsed_years += dt

    def gap(self) -> float:
        """SPY's relative distance from SPX/10: positive when SPY is rich."""
        return self.spy / (self.spx / 10.0) - 1.0

    def gap_std(self, vol: float) -> float:
        """Stationary std of ``gap``: tracking error, noise and the lag's SPX moves."""
        t = self.tracking
        lag_var = max(t.lag_ticks, 0) * vol * vol * self.dt
        return math.sqrt(t.error_std**2 + t.noise**2 + lag_var)
