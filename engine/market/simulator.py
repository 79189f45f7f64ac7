"""The simulated market the core calls once per tick (see ``engine.market``).

Per tick, in this order (the order of RNG draws is part of the session's identity):
news, the price step, fair values, signals, house quotes, retail orders.

Signals, and what "right" means:
- ``VolForecast`` (hedge funds): made ``ticks_until_change`` ticks before a regime change
  on the pre-drawn path (a lead drawn in [min_lead, max_lead]); with probability
  ``signals.volatility_accuracy`` its ``forecast`` names the regime the path changes to,
  otherwise another one. Right = ``forecast`` is the regime in force at
  ``tick + ticks_until_change``.
- ``TrackingError`` (arbitrage desks): every tick where |SPY / (SPX/10) - 1| exceeds
  ``tracking.signal_threshold``; with probability ``tracking.signal_accuracy`` the
  direction is the true one (``SPY_RICH`` when SPY is above SPX/10), else flipped.
  Right = the direction matches the sign of the gap.
"""

from __future__ import annotations

import math
from random import Random

from engine.config import Config
from engine.instruments import Instrument
from engine.market import (
    MarketView,
    SimOrder,
    SimQuote,
    SimTeam,
    TickOutput,
    TrackingError,
    VolForecast,
    pricing,
)
from engine.market.model import REGIMES, TRADING_SECONDS_PER_YEAR, PriceModel

HOUSE = "TEAM_HOUSE"
SUBMIT_PHASES = ("pre_open", "continuous")


class Market:
    def __init__(self, config: Config, seed: int, instruments: dict[str, Instrument]) -> None:
        self.config = config
        self.instruments = instruments
        self.rng = Random(seed)
        lead = config.signals.volatility_max_lead
        self.model = PriceModel(config, self.rng, lookahead=lead + 1)
        self.expiry_years = config.instruments.expiry_days / 252.0
        self._forecasts: dict[int, VolForecast] = {}  # tick -> forecast to send then
        self._announced: set[int] = set()  # ticks of changes already forecast
        self._fair = self._fair_values()
        self.retail_ids = (
            tuple(f"TEAM_RETAIL_{i}" for i in range(1, config.retail.participants + 1))
            if config.retail.enabled
            else ()
        )
        self.tick = 0

    def teams(self) -> tuple[SimTeam, ...]:
        out = []
        if self.config.house.enabled:
            out.append(
                SimTeam(
                    team_id=HOUSE, team_name="house", role="market_maker", exempt_from_limits=True
                )
            )
        for i, team_id in enumerate(self.retail_ids, 1):
            out.append(SimTeam(team_id=team_id, team_name=f"retail-{i}", role="retail"))
        return tuple(out)

    def fair(self) -> dict[str, int]:
        return dict(self._fair)

    # ------------------------------------------------------------------ prices

    def _underlying(self, name: str) -> float:
        return (
            self.model.spx if name == self.config.instruments.underlyings[0].id else self.model.spy
        )

    def _fair_values(self) -> dict[str, int]:
        years = max(self.expiry_years - self.model.elapsed_years, 3600.0 / TRADING_SECONDS_PER_YEAR)
        vol = self.model.vol
        out: dict[str, int] = {}
        for iid, inst in self.instruments.items():
            spot = self._underlying(inst.underlying)
            if inst.strike is None:
                value = spot
            else:
                value = pricing.price(spot, inst.strike / 100.0, years, vol, inst.kind == "call")
            out[iid] = max(round(value * 100), 1)
        return out

    # ------------------------------------------------------------------ tick

    def on_tick(self, tick_number: int, phase: str, view: MarketView) -> TickOutput:
        self.tick = tick_number
        news = self.model.news()
        if news is not None and news.effect == "regime_shift":
            self._forecasts.clear()  # the path they were made from is gone
            self._announced.clear()
        self.model.step()
        self._fair = self._fair_values()
        spx, spy = (
            self._fair[self.config.instruments.underlyings[0].id],
            round(self.model.spy * 100),
        )
        quotes: tuple[SimQuote, ...] = ()
        orders: tuple[SimOrder, ...] = ()
        forecasts = self._vol_forecasts(tick_number)
        tracking = self._tracking()
        if phase in SUBMIT_PHASES:
            quotes = self._house_quotes() if self.config.house.enabled else ()
            orders = self._retail(phase, view) if self.retail_ids else ()
        return TickOutput(
            spx=spx,
            spy=spy,
            regime=self.model.regime,
            fair=dict(self._fair),
            news=(news,) if news is not None else (),
            vol_forecasts=forecasts,
            tracking=tracking,
            quotes=quotes,
            orders=orders,
        )

    def _vol_forecasts(self, tick: int) -> tuple[VolForecast, ...]:
        cfg = self.config.signals
        previous = self.model.regime
        for ahead, regime in enumerate(self.model.path, 1):
            change_tick = tick + ahead
            if regime != previous and change_tick not in self._announced:
                self._announced.add(change_tick)
                lead = min(
                    self.rng.randint(cfg.volatility_min_lead, cfg.volatility_max_lead), ahead
                )
                right = self.rng.random() < cfg.volatility_accuracy
                forecast = regime if right else self.rng.choice([r for r in REGIMES if r != regime])
                confidence = round(self.rng.uniform(0.55, 0.9), 2)
                self._forecasts[change_tick - lead] = VolForecast(
                    current_regime=previous,
                    forecast=forecast,
                    confidence=confidence,
                    ticks_until_change=lead,
                )
            previous = regime
        due = self._forecasts.pop(tick, None)
        return (due,) if due is not None else ()

    def _tracking(self) -> tuple[TrackingError, ...]:
        cfg = self.config.tracking
        theoretical = self.model.spx / 10.0
        gap = self.model.spy / theoretical - 1.0
        if abs(gap) <= cfg.signal_threshold:
            return ()
        rich = gap > 0
        if self.rng.random() >= cfg.signal_accuracy:
            rich = not rich
        return (
            TrackingError(
                spx_price=round(self.model.spx * 100),
                spy_price=round(self.model.spy * 100),
                theoretical_spy=round(theoretical * 100),
                tracking_error_bps=round(gap * 10_000),
                direction="SPY_RICH" if rich else "SPY_CHEAP",
                z_score=round(gap / cfg.error_std, 3) if cfg.error_std > 0 else 0.0,
            ),
        )

    # ------------------------------------------------------------------ participants

    def _house_quotes(self) -> tuple[SimQuote, ...]:
        cfg = self.config.house
        out = []
        for iid, fair in self._fair.items():
            half = max(cfg.min_half_spread, fair * cfg.half_spread_bps // 10_000)
            half = min(half, (2 * fair) // 40)  # spread <= 10% of mid
            bid, ask = fair - half, fair + half
            if half < 1 or bid < 1 or (ask - bid) * 20 > ask + bid:
                continue
            out.append(
                SimQuote(
                    team_id=HOUSE,
                    instrument_id=iid,
                    bid_price=bid,
                    bid_size=cfg.size,
                    ask_price=ask,
                    ask_size=cfg.size,
                )
            )
        return tuple(out)

    def _poisson(self, mean: float) -> int:
        threshold, count, product = math.exp(-mean), 0, self.rng.random()
        while product > threshold:
            count += 1
            product *= self.rng.random()
        return count

    def _retail(self, phase: str, view: MarketView) -> tuple[SimOrder, ...]:
        cfg = self.config.retail
        options = [i for i in self.instruments.values() if i.is_option]
        out = []
        planned: dict[str, int] = {}  # exposure already sent this tick, per team
        for _ in range(min(self._poisson(cfg.orders_per_tick), cfg.max_orders_per_tick)):
            team = self.rng.choice(self.retail_ids)
            underlying = self.rng.choice([u.id for u in self.config.instruments.underlyings])
            kind = "call" if self.rng.random() < cfg.call_share else "put"
            spot = self._underlying(underlying) * 100
            chain = [i for i in options if i.underlying == underlying and i.kind == kind]
            otm = [
                i for i in chain if i.strike is not None and ((i.strike > spot) == (kind == "call"))
            ]
            itm = [i for i in chain if i not in otm]
            pool = otm if (self.rng.random() < cfg.otm_share and otm) or not itm else itm
            instrument = self.rng.choice(pool)
            size = int(
                min(
                    max(round(self.rng.expovariate(1.0 / cfg.size_mean)), cfg.size_min),
                    cfg.size_max,
                )
            )
            buy = self.rng.random() < cfg.buy_share
            market = phase == "continuous" and self.rng.random() < cfg.market_share
            style = self.rng.random()
            size = self._within_limit(view, team, instrument.id, buy, size, planned.get(team, 0))
            if size <= 0:
                continue
            planned[team] = planned.get(team, 0) + size
            price = None if market else self._limit_price(self._fair[instrument.id], buy, style)
            out.append(
                SimOrder(
                    team_id=team,
                    instrument_id=instrument.id,
                    side="buy" if buy else "sell",
                    quantity=size,
                    order_type="market" if market else "limit",
                    price=price,
                )
            )
        return tuple(out)

    def _within_limit(
        self, view: MarketView, team: str, iid: str, buy: bool, size: int, planned: int
    ) -> int:
        """Shrink an order so the team stays within its maximum position."""
        position = view.position(team, iid)
        reduces = (position < 0) == buy and position != 0
        if reduces:
            return size
        room = self.config.retail.max_position - view.total_position(team) - planned
        return min(size, room)

    def _limit_price(self, fair: int, buy: bool, style: float) -> int:
        cfg = self.config.retail
        if style < cfg.limit_aggressive:
            move = self.rng.uniform(0.01, 0.03)  # through fair: likely to trade
        elif style < cfg.limit_aggressive + cfg.limit_passive:
            move = -self.rng.uniform(0.01, 0.03)  # on the good side of fair
        else:
            move = -self.rng.uniform(0.05, 0.15)  # far away
        factor = 1.0 + move if buy else 1.0 - move
        return max(round(fair * factor), 1)
