"""The simulated market the core calls once per tick (see ``engine.market``).

Determinism: everything random comes from ``Random(seed)``, which seeds three streams
the instance owns: the *world* (regimes, news, prices), the *signals* (forecast and
tracking accuracy) and the *flow* (retail orders). Separate streams keep the price path
a function of the seed alone: what bots do changes the retail flow's positions, hence
how many draws it makes, and without the split that would change future prices.

Per tick, in this order: the timeline advances (the regime and headline of this tick
become the present, one more tick is drawn at the horizon, and forecasts are planned
for the changes it reveals), SPX and SPY move (a news jump first), fair values follow,
then the signals, the house quotes and the retail orders. The session's time is the
number of ``on_tick`` calls: tick ``n`` moves the market ``n * dt`` from the start.
See ``signals`` for what "right" means for each signal.
"""

from __future__ import annotations

from random import Random

from engine.config import Config
from engine.instruments import Instrument
from engine.market import MarketView, NewsItem, SimTeam, TickOutput, house, pricing
from engine.market.news import NewsDesk
from engine.market.prices import TRADING_SECONDS_PER_YEAR, Prices
from engine.market.regimes import Timeline
from engine.market.retail import SUBMIT_PHASES, RetailFlow, team_ids
from engine.market.signals import Forecaster, tracking_signal

#: Options never get closer to expiry than this in the model (an hour of trading).
MIN_YEARS = 3600.0 / TRADING_SECONDS_PER_YEAR


class Market:
    def __init__(self, config: Config, seed: int, instruments: dict[str, Instrument]) -> None:
        self.config = config
        self.instruments = instruments
        root = Random(seed)
        self.world = Random(root.getrandbits(64))
        self.signal_rng = Random(root.getrandbits(64))
        self.flow_rng = Random(root.getrandbits(64))
        desk = NewsDesk(config.news, config.schedule.sim_seconds_per_tick)
        horizon = max(config.signals.volatility_max_lead, 1)
        self.timeline = Timeline(config.regimes, desk, self.world, horizon)
        self.prices = Prices(config)
        self.forecaster = Forecaster(config.signals, self.signal_rng)
        self.retail = RetailFlow(config, self.flow_rng, instruments)
        self.spx_id = config.instruments.underlyings[0].id
        self.expiry_years = config.instruments.expiry_days / 252.0
        self.tick = 0
        self._plan_forecasts()
        self._fair = self._fair_values()

    def teams(self) -> tuple[SimTeam, ...]:
        out = []
        if self.config.house.enabled:
            out.append(
                SimTeam(
                    team_id=house.HOUSE,
                    team_name="house",
                    role="market_maker",
                    exempt_from_limits=True,
                )
            )
        for i, team_id in enumerate(team_ids(self.config), 1):
            out.append(SimTeam(team_id=team_id, team_name=f"retail-{i}", role="retail"))
        return tuple(out)

    # ------------------------------------------------------------------ model state

    @property
    def regime(self) -> str:
        return self.timeline.regime

    @property
    def vol(self) -> float:
        return self.config.regimes.vols[self.timeline.regime]

    def years_to_expiry(self) -> float:
        return max(self.expiry_years - self.prices.elapsed_years, MIN_YEARS)

    def spot(self, underlying: str) -> float:
        """An underlying's model price in dollars."""
        return self.prices.spx if underlying == self.spx_id else self.prices.spy

    def fair(self) -> dict[str, int]:
        """Every instrument's fair value in cents, as of the last tick (or the start)."""
        return dict(self._fair)

    def deltas(self) -> dict[str, float]:
        """Black-Scholes delta per unit of underlying (1.0 for an underlying itself)."""
        years, vol = self.years_to_expiry(), self.vol
        out: dict[str, float] = {}
        for iid, inst in self.instruments.items():
            if inst.strike is None:
                out[iid] = 1.0
            else:
                spot = self.spot(inst.underlying)
                out[iid] = pricing.delta(spot, inst.strike / 100, years, vol, inst.kind == "call")
        return out

    def _fair_values(self) -> dict[str, int]:
        years, vol = self.years_to_expiry(), self.vol
        out: dict[str, int] = {}
        for iid, inst in self.instruments.items():
            spot = self.spot(inst.underlying)
            if inst.strike is None:
                value = spot
            else:
                value = pricing.price(spot, inst.strike / 100, years, vol, inst.kind == "call")
            out[iid] = max(round(value * 100), 1)
        return out

    def _plan_forecasts(self) -> None:
        for change in self.timeline.take_changes():
            self.forecaster.schedule(change, self.tick)

    # ------------------------------------------------------------------ tick

    def on_tick(self, tick_number: int, phase: str, view: MarketView) -> TickOutput:
        """One tick of the market. ``tick_number`` is the core's; time here counts calls."""
        step = self.timeline.advance()
        self.tick = step.tick
        self._plan_forecasts()
        draft = step.news
        self.prices.step(self.world, self.vol, draft.jump if draft is not None else 0.0)
        self._fair = fair = self._fair_values()
        news: tuple[NewsItem, ...] = ()
        if draft is not None:
            jump_bps = round(draft.jump * 10_000) if draft.effect == "price_jump" else None
            news = (
                NewsItem(
                    headline=draft.headline,
                    effect=draft.effect,
                    new_regime=draft.new_regime,
                    jump_bps=jump_bps,
                ),
            )
        tracking = tracking_signal(self.config.tracking, self.signal_rng, self.prices, self.vol)
        submit = phase in SUBMIT_PHASES
        spot_cents = {u: self.spot(u) * 100 for u in self.retail.underlyings}
        return TickOutput(
            spx=fair[self.spx_id],
            spy=max(round(self.prices.spy * 100), 1),
            regime=self.regime,
            fair=dict(fair),
            news=news,
            vol_forecasts=self.forecaster.due(self.tick, self.regime),
            tracking=(tracking,) if tracking is not None else (),
            quotes=house.quotes(self.config.house, fair)
            if submit and self.config.house.enabled
            else (),
            orders=self.retail.orders(phase, view, fair, spot_cents),
        )
