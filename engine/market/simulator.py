"""The simulated market the core calls once per tick (see ``engine.market``).

Determinism: ``Random(seed)`` seeds three streams the instance owns: the world (regimes,
news, prices: ``model``), the signals' draws and the retail flow. The flow's draws depend
on positions, hence on what bots do; on one shared stream that would change every price
after it. Split, the world is a function of the seed alone.

Per tick, in this order: the world steps (this tick's pre-drawn regime and headline come
true, a news jump moves SPX, then SPX and SPY move), fair values follow (Black-Scholes on
the regime's volatility), then the forecasts, the tracking signal, the house quotes and
the retail orders. ``signals`` says what "right" means for each signal.
"""

from __future__ import annotations

from random import Random

from engine.config import Config
from engine.instruments import Instrument
from engine.market import MarketView, SimTeam, TickOutput, house, pricing
from engine.market.model import TRADING_SECONDS_PER_YEAR, PriceModel
from engine.market.retail import SUBMIT_PHASES, RetailFlow, team_ids
from engine.market.signals import Forecaster, tracking_error

HOUSE = house.HOUSE
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
        lead = config.signals.volatility_max_lead
        self.model = PriceModel(config, self.world, lookahead=lead + 1)
        self.forecaster = Forecaster(config.signals, self.signal_rng)
        self.retail = RetailFlow(config, self.flow_rng, instruments)
        self.spx_id = config.instruments.underlyings[0].id
        self.expiry_years = config.instruments.expiry_days / 252.0
        self.tick = 0
        self._fair = self._fair_values()

    def teams(self) -> tuple[SimTeam, ...]:
        out = []
        if self.config.house.enabled:
            out.append(
                SimTeam(
                    team_id=HOUSE, team_name="house", role="market_maker", exempt_from_limits=True
                )
            )
        for i, team_id in enumerate(team_ids(self.config), 1):
            out.append(SimTeam(team_id=team_id, team_name=f"retail-{i}", role="retail"))
        return tuple(out)

    def fair(self) -> dict[str, int]:
        """Every instrument's fair value in cents, as of the last tick (or the start)."""
        return dict(self._fair)

    def spot(self, underlying: str) -> float:
        """An underlying's model price in dollars."""
        return self.model.spx if underlying == self.spx_id else self.model.spy

    def years_to_expiry(self) -> float:
        return max(self.expiry_years - self.model.elapsed_years, MIN_YEARS)

    def deltas(self) -> dict[str, float]:
        """Black-Scholes delta per unit of underlying (1.0 for an underlying itself)."""
        years, vol = self.years_to_expiry(), self.model.vol
        out: dict[str, float] = {}
        for iid, inst in self.instruments.items():
            if inst.strike is None:
                out[iid] = 1.0
            else:
                spot = self.spot(inst.underlying)
                out[iid] = pricing.delta(spot, inst.strike / 100, years, vol, inst.kind == "call")
        return out

    def _fair_values(self) -> dict[str, int]:
        years, vol = self.years_to_expiry(), self.model.vol
        out: dict[str, int] = {}
        for iid, inst in self.instruments.items():
            spot = self.spot(inst.underlying)
            if inst.strike is None:
                value = spot
            else:
                value = pricing.price(spot, inst.strike / 100, years, vol, inst.kind == "call")
            out[iid] = max(round(value * 100), 1)
        return out

    def on_tick(self, tick_number: int, phase: str, view: MarketView) -> TickOutput:
        """One tick; ``tick_number`` is the core's (consecutive from 1)."""
        self.tick = tick_number
        model = self.model
        news = model.step()
        self._fair = fair = self._fair_values()
        path = (a.regime for a in model.path)
        tracking = tracking_error(self.config.tracking, self.signal_rng, model.spx, model.spy)
        submit = phase in SUBMIT_PHASES and self.config.house.enabled
        spot_cents = {u: self.spot(u) * 100 for u in self.retail.underlyings}
        quotes, withdrawn = house.quotes(self.config.house, fair) if submit else ((), ())
        return TickOutput(
            spx=fair[self.spx_id],
            spy=max(round(model.spy * 100), 1),
            regime=model.regime,
            fair=dict(fair),
            news=(news,) if news is not None else (),
            vol_forecasts=self.forecaster.due(tick_number, model.regime, path),
            tracking=(tracking,) if tracking is not None else (),
            quotes=quotes,
            orders=self.retail.orders(phase, view, fair, spot_cents),
            withdrawn=withdrawn,
            # rounded to millionths: the log holds exact integers, and a last-bit
            # difference of another machine's libm cannot change a recorded session
            delta_ppm={iid: round(d * 1_000_000) for iid, d in self.deltas().items()},
        )
