"""Private signals: volatility forecasts for hedge funds, tracking errors for arbitrage desks.

What "right" means (what the tests measure):

- ``VolForecast`` sent during tick ``t`` is *right* when ``forecast`` is the regime in
  force during tick ``t + ticks_until_change`` (the regime the market changes to). Every
  regime change on the path, Markov or news-driven, gets exactly one forecast, sent
  ``lead`` ticks before it, ``lead`` uniform in [min_lead, max_lead] (shorter only for
  changes in the first ticks of a session; a change at tick 1 gets none). With
  probability ``signals.volatility_accuracy`` the forecast names the new regime;
  otherwise it names the regime that is neither the new one nor the one it replaces.
  ``confidence`` is ``volatility_accuracy`` +- 0.10 (uniform, two decimals): calibrated
  on average and carrying no information about whether this one is right.
- ``TrackingError`` is sent during every tick where ``|SPY / (SPX/10) - 1|`` exceeds
  ``tracking.signal_threshold``. It is *right* when its ``direction`` is ``SPY_RICH`` and
  SPY is above SPX/10 during that tick, or ``SPY_CHEAP`` and below; this holds with
  probability ``tracking.signal_accuracy``, otherwise the reading is flipped: direction,
  ``tracking_error_bps`` and ``z_score`` all carry the wrong sign (the prices in the
  message are the market's true ones). ``z_score`` is the reported gap over the gap's
  stationary std (tracking error, noise and the lag's SPX moves).
"""

from __future__ import annotations

from random import Random

import msgspec

from engine.config import SignalsConfig, TrackingConfig
from engine.market import TrackingError, VolForecast
from engine.market.prices import Prices
from engine.market.regimes import REGIMES, Change


class _Pending(msgspec.Struct, frozen=True, kw_only=True):
    change_tick: int
    forecast: str
    confidence: float


class Forecaster:
    def __init__(self, config: SignalsConfig, rng: Random) -> None:
        self.config = config
        self.rng = rng
        self.pending: dict[int, list[_Pending]] = {}  # tick to send -> forecasts

    def schedule(self, change: Change, now: int) -> None:
        """Plan the forecast of a change just drawn; ``now`` is the current tick."""
        cfg, rng = self.config, self.rng
        lead = rng.randint(cfg.volatility_min_lead, max(cfg.volatility_max_lead, 1))
        right = rng.random() < cfg.volatility_accuracy
        wrong = [r for r in REGIMES if r not in (change.after, change.before)]
        miss = rng.choice(wrong or [r for r in REGIMES if r != change.after])
        confidence = round(min(max(cfg.volatility_accuracy + rng.uniform(-0.1, 0.1), 0.0), 1.0), 2)
        send = max(change.tick - lead, now, 1)
        if send >= change.tick:
            return  # too close to the start of the session to warn of it
        self.pending.setdefault(send, []).append(
            _Pending(
                change_tick=change.tick,
                forecast=change.after if right else miss,
                confidence=confidence,
            )
        )

    def due(self, now: int, regime: str) -> tuple[VolForecast, ...]:
        return tuple(
            VolForecast(
                current_regime=regime,
                forecast=p.forecast,
                confidence=p.confidence,
                ticks_until_change=p.change_tick - now,
            )
            for p in self.pending.pop(now, ())
        )


def tracking_signal(
    config: TrackingConfig, rng: Random, prices: Prices, vol: float
) -> TrackingError | None:
    gap = prices.gap()
    if abs(gap) <= config.signal_threshold:
        return None
    reported = gap if rng.random() < config.signal_accuracy else -gap
    std = prices.gap_std(vol)
    return TrackingError(
        spx_price=round(prices.spx * 100),
        spy_price=round(prices.spy * 100),
        theoretical_spy=round(prices.spx * 10),
        tracking_error_bps=round(reported * 10_000),
        direction="SPY_RICH" if reported > 0 else "SPY_CHEAP",
        z_score=round(reported / std, 3) if std > 0 else 0.0,
    )
