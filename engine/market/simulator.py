"""The simulated market the core calls once per tick (see ``engine.market``).

Determinism: ``Random(seed)`` seeds three streams the instance owns: the world
(regimes, news, prices: ``model``), the signals' draws and the retail flow. The flow's
draws depend on positions, hence on what bots do; on one shared stream that would change
every price after it. Split, the world is a function of the seed alone.

Per tick, in this order: the world steps (this tick's pre-drawn regime and headline come
true, a news jump moves SPX, then SPX and SPY move), fair values follow, then the
forecasts, the tracking signal, the house quotes and the retail orders.

Signals, and what "right" means (what the tests measure):
- ``VolForecast`` (hedge funds): every regime change on the pre-drawn path, Markov or
  headline, is announced once, ``ticks_until_change`` ticks before it (a lead uniform in
  [min_lead, max_lead], shorter only when the change was drawn closer than that, at the
  start). ``current_regime`` is the regime the change leaves. With probability
  ``signals.volatility_accuracy`` ``forecast`` is the regime the path changes to,
  otherwise one of the two others, uniformly (possibly ``current_regime``: "no change").
  Right = ``forecast`` is the regime in force during tick ``t + ticks_until_change``,
  where ``t`` is the tick that carried the forecast. ``confidence`` is uniform in
  [0.55, 0.90] whatever the outcome: it carries no information.
- ``TrackingError`` (arbitrage desks): every tick where ``|SPY / (SPX/10) - 1|`` exceeds
  ``tracking.signal_threshold``. Prices, ``tracking_error_bps`` and ``z_score`` are the
  true ones; with probability ``tracking.signal_accuracy`` ``direction`` is the true one
  (``SPY_RICH`` when SPY is above SPX/10), else flipped. Right = ``direction`` agrees with
  the sign of ``tracking_error_bps``.
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
from engine.market.limits import Budget
from engine.market.model import REGIMES, TRADING_SECONDS_PER_YEAR, PriceModel

HOUSE = "TEAM_HOUSE"
SUBMIT_PHASES = ("pre_open", "continuous")


class Market:
    def __init__(self, config: Config, seed: int, instruments: dict[str, Instrument]) -> None:
        self.config = config
        self.instruments = instruments
        # Three streams from the one seed: the world (regimes, news, prices), the signals'
        # accuracy draws and the retail flow. The flow's draws depend on positions, hence on
        # what bots do; on one stream, that would change the prices that follow.
        root = Random(seed)
        self.world = Random(root.getrandbits(64))
        self.signal_rng = Random(root.getrandbits(64))
        self.flow_rng = Random(root.getrandbits(64))
        lead = config.signals.volatility_max_lead
        self.model = PriceModel(config, self.world, lookahead=lead + 1)
        self.expiry_years = config.instruments.expiry_days / 252.0
        self._forecasts: dict[int, list[VolForecast]] = {}  # tick -> forecasts to send then
        self._announced: set[int] = set()  # ticks of changes already forecast
        self._fair = self._fair_values()
        self.retail_ids = (
            tuple(f"TEAM_RETAIL_{i}" for i in range(1, config.retail.participants + 1))
            if config.retail.enabled
            else ()
        )
        self.tick = 0
        retail_role = config.roles.get("retail")
        self.retail_limit = min(
            config.retail.max_position,
            retail_role.total_limit if retail_role is not None else config.retail.max_position,
        )

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
        news = self.model.step()
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
        cfg, rng = self.config.signals, self.signal_rng
        previous = self.model.regime
        for ahead, regime in enumerate((a.regime for a in self.model.path), 1):
            change_tick = tick + ahead
            if regime != previous and change_tick not in self._announced:
                self._announced.add(change_tick)
                lead = min(rng.randint(cfg.volatility_min_lead, cfg.volatility_max_lead), ahead)
                right = rng.random() < cfg.volatility_accuracy
                forecast = regime if right else rng.choice([r for r in REGIMES if r != regime])
                confidence = round(rng.uniform(0.55, 0.9), 2)
                # several changes may be announced on one tick: keep them all
                self._forecasts.setdefault(change_tick - lead, []).append(
                    VolForecast(
                        current_regime=previous,
                        forecast=forecast,
                        confidence=confidence,
                        ticks_until_change=lead,
                    )
                )
            previous = regime
        self._announced = {t for t in self._announced if t > tick}  # bounded by the lookahead
        return tuple(self._forecasts.pop(tick, ()))

    def _tracking(self) -> tuple[TrackingError, ...]:
        cfg = self.config.tracking
        theoretical = self.model.spx / 10.0
        gap = self.model.spy / theoretical - 1.0
        if abs(gap) <= cfg.signal_threshold:
            return ()
        rich = gap > 0
        if self.signal_rng.random() >= cfg.signal_accuracy:
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
        threshold, count, product = math.exp(-mean), 0, self.flow_rng.random()
        while product > threshold:
            count += 1
            product *= self.flow_rng.random()
        return count

    def _retail(self, phase: str, view: MarketView) -> tuple[SimOrder, ...]:
        cfg = self.config.retail
        options = [i for i in self.instruments.values() if i.is_option]
        out = []
        budgets: dict[str, Budget] = {}  # per team, this tick
        for _ in range(min(self._poisson(cfg.orders_per_tick), cfg.max_orders_per_tick)):
            team = self.flow_rng.choice(self.retail_ids)
            underlying = self.flow_rng.choice([u.id for u in self.config.instruments.underlyings])
            kind = "call" if self.flow_rng.random() < cfg.call_share else "put"
            spot = self._underlying(underlying) * 100
            chain = [i for i in options if i.underlying == underlying and i.kind == kind]
            otm = [
                i for i in chain if i.strike is not None and ((i.strike > spot) == (kind == "call"))
            ]
            itm = [i for i in chain if i not in otm]
            pool = otm if (self.flow_rng.random() < cfg.otm_share and otm) or not itm else itm
            instrument = self.flow_rng.choice(pool)
            size = int(
                min(
                    max(round(self.flow_rng.expovariate(1.0 / cfg.size_mean)), cfg.size_min),
                    cfg.size_max,
                )
            )
            buy = self.flow_rng.random() < cfg.buy_share
            market = phase == "continuous" and self.flow_rng.random() < cfg.market_share
            style = self.flow_rng.random()
            budget = budgets.get(team)
            if budget is None:
                budget = budgets[team] = Budget(view, team, self.retail_limit)
            size = budget.fit(instrument.id, buy, size)
            if size <= 0:
                continue
            budget.take(instrument.id, buy, size)
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

    def _limit_price(self, fair: int, buy: bool, style: float) -> int:
        cfg = self.config.retail
        if style < cfg.limit_aggressive:
            move = self.flow_rng.uniform(0.01, 0.03)  # through fair: likely to trade
        elif style < cfg.limit_aggressive + cfg.limit_passive:
            move = -self.flow_rng.uniform(0.01, 0.03)  # on the good side of fair
        else:
            move = -self.flow_rng.uniform(0.05, 0.15)  # far away
        factor = 1.0 + move if buy else 1.0 - move
        return max(round(fair * factor), 1)
