"""Automated retail flow: small, noisy option orders spread over a few retail teams.

Per tick (docs/rules.md, Simulated participants): Poisson(``orders_per_tick``) orders,
at most ``max_orders_per_tick``; each from a retail team chosen uniformly, on an option
of an underlying chosen uniformly, a call with ``call_share`` (else a put), out of the
money with ``otm_share`` (a call with strike above spot, a put below; else in the
money), size exponential of mean ``size_mean`` rounded and clipped to [size_min,
size_max], a buy with ``buy_share``, a market order with ``market_share`` (in pre-open,
where the core takes no market order, it becomes an aggressive limit), otherwise a limit
order priced:

- aggressive (``limit_aggressive``): crossing the touch (a buy at the best ask, or at fair
  when no ask rests) plus 0-1% more, likely to trade at once;
- passive (``limit_passive``): inside the spread near the touch (a buy 0-2 cents above the
  best bid, below the best ask; fair minus 0.5-2% when no bid rests);
- far (``limit_far``): 5-15% away from fair on the patient side.

A limit price is then kept inside the core's price band around fair value (an aggressive
price 1% through a touch at the band's edge would be refused or cut short otherwise), so
the simulated flow is never refused by the band.

Every order draws the same numbers in the same order, whatever the book and positions.
Sizes are then shrunk to the team's ``limits.Budget`` (``max_position`` and the retail
role's total limit, as the core counts them); an order shrunk to nothing is dropped.
"""

from __future__ import annotations

import math
from random import Random

from engine.config import Config
from engine.core import rules
from engine.instruments import Instrument
from engine.market import MarketView, SimOrder
from engine.market.limits import Budget
from engine.vocabulary import OPEN_PHASES

#: The simulated flow sends where teams may (the phase table's ``takes_orders``).
SUBMIT_PHASES = OPEN_PHASES


def team_ids(config: Config) -> tuple[str, ...]:
    if not config.retail.enabled:
        return ()
    return tuple(f"TEAM_RETAIL_{i}" for i in range(1, config.retail.participants + 1))


def poisson(rng: Random, mean: float) -> int:
    """Knuth's product of uniforms: fine for the small means of order flow."""
    threshold, count, product = math.exp(-mean), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


class RetailFlow:
    def __init__(self, config: Config, rng: Random, instruments: dict[str, Instrument]) -> None:
        self.config = config
        self.rng = rng
        self.teams = team_ids(config)
        self.underlyings = tuple(u.id for u in config.instruments.underlyings)
        self.options = tuple(i for i in instruments.values() if i.is_option)
        retail_limit = config.roles["retail"].total_limit if "retail" in config.roles else None
        self.limit = min(config.retail.max_position, retail_limit or config.retail.max_position)

    def orders(
        self, phase: str, view: MarketView, fair: dict[str, int], spot: dict[str, float]
    ) -> tuple[SimOrder, ...]:
        """This tick's orders; ``spot`` is each underlying's price in cents (for moneyness)."""
        cfg, rng = self.config.retail, self.rng
        if phase not in SUBMIT_PHASES or not self.teams or not self.options:
            return ()
        budgets: dict[str, Budget] = {}  # per team, this tick
        out: list[SimOrder] = []
        for _ in range(min(poisson(rng, cfg.orders_per_tick), cfg.max_orders_per_tick)):
            team = rng.choice(self.teams)
            instrument = self._pick(spot)
            size = min(max(round(rng.expovariate(1.0 / cfg.size_mean)), cfg.size_min), cfg.size_max)
            buy = rng.random() < cfg.buy_share
            market = rng.random() < cfg.market_share
            style, u = rng.random(), rng.random()
            if instrument is None:
                continue
            budget = budgets.get(team)
            if budget is None:
                budget = budgets[team] = Budget(view, team, self.limit)
            size = budget.fit(instrument.id, buy, size)
            if size <= 0:
                continue
            budget.take(instrument.id, buy, size)
            iid = instrument.id
            if market and phase == "continuous":
                price = None
            else:
                style = 0.0 if market else style  # pre-open: a would-be market order crosses
                price = self._limit_price(view, iid, fair[iid], buy, style, u)
                limits = rules.band(self.config, instrument, fair[iid])
                if limits is not None:
                    price = min(max(price, limits[0]), limits[1])
            out.append(
                SimOrder(
                    team_id=team,
                    instrument_id=iid,
                    side="buy" if buy else "sell",
                    quantity=size,
                    order_type="limit" if price is not None else "market",
                    price=price,
                )
            )
        return tuple(out)

    def _pick(self, spot: dict[str, float]) -> Instrument | None:
        """Underlying, call or put, out of the money or not: three draws, always."""
        rng, cfg = self.rng, self.config.retail
        underlying = rng.choice(self.underlyings)
        kind = "call" if rng.random() < cfg.call_share else "put"
        want_otm = rng.random() < cfg.otm_share
        u = rng.random()
        price = spot[underlying]
        chain = [i for i in self.options if i.underlying == underlying and i.kind == kind]
        otm = [i for i in chain if _out_of_the_money(i, price)]
        itm = [i for i in chain if not _out_of_the_money(i, price)]
        pool = (otm or itm) if want_otm else (itm or otm)
        return pool[min(int(u * len(pool)), len(pool) - 1)] if pool else None

    def _limit_price(
        self, view: MarketView, iid: str, fair: int, buy: bool, style: float, u: float
    ) -> int:
        cfg = self.config.retail
        bid, ask = view.best_bid(iid), view.best_ask(iid)
        touch = ask if buy else bid  # the side a buyer (seller) would trade against
        near = bid if buy else ask  # the side it would join
        sign = 1 if buy else -1
        if style < cfg.limit_aggressive:
            base = touch[0] if touch is not None else fair
            price = base + sign * round(base * 0.01 * u)
        elif style < cfg.limit_aggressive + cfg.limit_passive:
            if near is not None:
                price = near[0] + sign * min(int(u * 3), 2)
                if touch is not None:  # stay inside: never cross when meant to wait
                    price = min(price, touch[0] - 1) if buy else max(price, touch[0] + 1)
            else:
                price = fair - sign * round(fair * (0.005 + 0.015 * u))
        else:
            price = fair - sign * round(fair * (0.05 + 0.10 * u))
        return max(price, 1)


def _out_of_the_money(option: Instrument, spot_cents: float) -> bool:
    assert option.strike is not None
    return option.strike > spot_cents if option.kind == "call" else option.strike < spot_cents
