"""Example hedge fund: trade volatility on the forecast, stay delta-neutral with SPX.

Run it:  python -m tradepit.examples.hedge_fund --url http://localhost:8000

Hedge funds receive ``volatility_forecast`` signals: the regime that is coming. When the
forecast volatility is above the current one, options should get dearer, so it buys
at-the-money SPX straddles (a call and a put: long volatility, almost no delta); when
below, it sells them. Then, every tick, it computes the portfolio's delta with
Black-Scholes, as the scorer does (an option contract is 100 units of underlying), and
trades SPX to bring it back near zero: the role is penalised beyond +-50 deltas.
It uses market orders only, so the one-side-per-instrument rule never applies.
"""

from __future__ import annotations

from tradepit import bs
from tradepit.bot import Bot, main
from tradepit.models import Instrument

VOLS = {"low": 0.10, "medium": 0.20, "high": 0.50}  # the regimes' volatilities (rules.md)
MAX_STRADDLES = 2  # a straddle's delta moves ~2 a tick; hedging keeps it near zero
HEDGE_BAND = 10  # rehedge when the delta is further than this from zero
UNDERLYING_LIMIT = 200


def portfolio_delta(bot: Bot, chain: dict[str, Instrument], spot: float, vol: float) -> float:
    years = bs.years_left(bot.state.tick)
    total = 0.0
    for iid, qty in bot.state.positions.items():
        if iid == "SPX":
            total += qty
        elif iid in chain:
            inst = chain[iid]
            d = bs.delta(spot, inst.strike or spot, years, vol, inst.kind == "call")
            total += qty * d * inst.multiplier
    return total


async def trade_volatility(bot: Bot, straddle: list[str], target: int) -> None:
    held = bot.state.positions.get(straddle[0], 0)
    if held == target:
        return
    side = "buy" if target > held else "sell"
    for iid in straddle:  # one leg after the other: the hedge below covers the gap
        await bot.attempt(bot.client.place_order(iid, side, abs(target - held)))


async def step(bot: Bot) -> None:
    s, client = bot.state, bot.client
    if s.phase != "continuous":
        return
    instruments = (await client.instruments()).instruments
    chain = {i.instrument_id: i for i in instruments if i.underlying == "SPX" and i.strike}
    spot = next(i.mark for i in instruments if i.instrument_id == "SPX")
    if not spot:
        return
    forecasts = [x for x in s.signals if x.get("signal_type") == "volatility_forecast"]
    regime = forecasts[-1]["current_regime"] if forecasts else "medium"
    if forecasts and forecasts[-1] is not bot.memory.get("acted_on"):
        latest = bot.memory["acted_on"] = forecasts[-1]
        # long volatility when a higher regime is forecast, short when a lower one is
        up = VOLS[latest["forecast"]] > VOLS[latest["current_regime"]]
        strike = min({i.strike or 0 for i in chain.values()}, key=lambda k: abs(k - spot))
        straddle = [f"SPX_{strike:.0f}_CALL", f"SPX_{strike:.0f}_PUT"]
        old = bot.memory.get("straddle")
        if old and old != straddle:  # the money moved: close the old strike first
            await trade_volatility(bot, old, 0)
        bot.memory["straddle"] = straddle
        await trade_volatility(bot, straddle, MAX_STRADDLES if up else -MAX_STRADDLES)
    delta = portfolio_delta(bot, chain, spot, VOLS.get(regime, 0.2))
    if abs(delta) > HEDGE_BAND:
        held = s.positions.get("SPX", 0)
        target = max(-UNDERLYING_LIMIT, min(UNDERLYING_LIMIT, held - round(delta)))
        if target != held:
            side = "buy" if target > held else "sell"
            await bot.attempt(client.place_order("SPX", side, abs(target - held)))


if __name__ == "__main__":
    # a price read before a tick can fall outside the band the tick moved: refused, and
    # the next tick prices again
    main("example-hf", "hedge_fund", step, handled={"MARKET_CLOSED", "INVALID_PRICE"})
