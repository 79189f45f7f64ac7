"""Private signals: volatility forecasts for hedge funds, tracking errors for arbitrage desks.

What "right" means (what the tests measure):

- ``VolForecast``: every regime change on the pre-drawn path (Markov or headline) is
  announced once, ``ticks_until_change`` ticks before it: a lead uniform in
  [min_lead, max_lead], shorter only when the change entered the lookahead closer than
  that (at the start of a session). ``current_regime`` is the regime the change leaves.
  With probability ``signals.volatility_accuracy`` ``forecast`` is the regime the path
  changes to, otherwise one of the two others, uniformly (possibly ``current_regime``:
  "no change"). *Right* = ``forecast`` is the regime in force during tick
  ``t + ticks_until_change``, ``t`` being the tick that carried the forecast.
  ``confidence`` is uniform in [0.55, 0.90] whatever the outcome: it tells nothing.
- ``TrackingError``: sent during every tick where ``|SPY / (SPX/10) - 1|`` exceeds
  ``tracking.signal_threshold``. Prices, ``tracking_error_bps`` and ``z_score`` (the gap
  over ``tracking.error_std``) are the true ones; with probability
  ``tracking.signal_accuracy`` ``direction`` is the true one (``SPY_RICH`` when SPY is
  above SPX/10), otherwise flipped. *Right* = ``direction`` agrees with the sign of
  ``tracking_error_bps``.
"""

from __future__ import annotations

from collections.abc import Iterable
from random import Random

from engine.config import SignalsConfig, TrackingConfig
from engine.market import TrackingError, VolForecast
from engine.market.model import REGIMES


class Forecaster:
    def __init__(self, config: SignalsConfig, rng: Random) -> None:
        self.config = config
        self.rng = rng
        self.pending: dict[int, list[VolForecast]] = {}  # tick to send -> forecasts
        self.announced: set[int] = set()  # ticks of changes already planned (ints only)

    def due(self, tick: int, regime: str, path: Iterable[str]) -> tuple[VolForecast, ...]:
        """Plan forecasts for changes newly in ``path`` (ticks after ``tick``); send today's."""
        cfg, rng = self.config, self.rng
        previous = regime
        for ahead, future in enumerate(path, 1):
            change_tick = tick + ahead
            if future != previous and change_tick not in self.announced:
                self.announced.add(change_tick)
                lead = min(rng.randint(cfg.volatility_min_lead, cfg.volatility_max_lead), ahead)
                right = rng.random() < cfg.volatility_accuracy
                forecast = future if right else rng.choice([r for r in REGIMES if r != future])
                confidence = round(rng.uniform(0.55, 0.9), 2)
                # several changes may come due on one tick: keep them all
                self.pending.setdefault(change_tick - lead, []).append(
                    VolForecast(
                        current_regime=previous,
                        forecast=forecast,
                        confidence=confidence,
                        ticks_until_change=lead,
                    )
                )
            previous = future
        self.announced = {t for t in self.announced if t > tick}  # bounded by the lookahead
        return tuple(self.pending.pop(tick, ()))


def tracking_error(
    config: TrackingConfig, rng: Random, spx: float, spy: float
) -> TrackingError | None:
    theoretical = spx / 10.0
    gap = spy / theoretical - 1.0
    if abs(gap) <= config.signal_threshold:
        return None
    rich = gap > 0
    if rng.random() >= config.signal_accuracy:
        rich = not rich
    return TrackingError(
        spx_price=round(spx * 100),
        spy_price=round(spy * 100),
        theoretical_spy=round(theoretical * 100),
        tracking_error_bps=round(gap * 10_000),
        direction="SPY_RICH" if rich else "SPY_CHEAP",
        z_score=round(gap / config.error_std, 3) if config.error_std > 0 else 0.0,
    )
