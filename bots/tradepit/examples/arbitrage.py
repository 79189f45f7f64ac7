"""Example arbitrage desk: SPX against SPY options on the ``tracking_error`` signal.

Run it:  python -m tradepit.examples.arbitrage --url http://localhost:8000

SPY tracks a tenth of SPX with an error that reverts to zero. When the signal says SPY
is rich, SPY's options are dear against SPX's: sell 10 at-the-money SPY calls and buy 1
SPX call (the same exposure: an SPY contract is a tenth of an SPX one, so the legs are
balanced 1:1 in SPX terms and the pair is nearly delta-neutral); when SPY is cheap, the
reverse. It holds at most ``MAX_PAIRS`` pairs and flattens when the direction turns.
The role is penalised each tick one family's exposure is over twice the other's, so
each pair's two legs go out back to back, the larger leg first.
"""

from __future__ import annotations

from tradepit.bot import Bot, main

MAX_PAIRS = 3
SPY_PER_SPX = 10


def atm(spot: float, step: int) -> int:
    return int(round(spot / step) * step)


async def flatten(bot: Bot) -> None:
    for iid, qty in sorted(bot.state.positions.items(), key=lambda p: -abs(p[1])):
        await bot.attempt(bot.client.place_order(iid, "sell" if qty > 0 else "buy", abs(qty)))
    bot.memory["pairs"] = 0


def out_of_balance(positions: dict[str, int]) -> bool:
    """The scorer's rule: one family's exposure over twice the other's (SPY counts 1/10)."""
    spx = sum(abs(q) for iid, q in positions.items() if iid.startswith("SPX"))
    spy = sum(abs(q) for iid, q in positions.items() if iid.startswith("SPY")) / SPY_PER_SPX
    return max(spx, spy) > 2 * min(spx, spy)


async def step(bot: Bot) -> None:
    s = bot.state
    if s.phase != "continuous":
        return
    if out_of_balance(s.positions):  # a leg filled only in part: start over, balanced
        await flatten(bot)
        return
    signals = [x for x in s.signals if x.get("signal_type") == "tracking_error"]
    if not signals or signals[-1]["tick_number"] < s.tick - 1:
        return  # no signal, or only a stale one
    signal = signals[-1]
    if signal is bot.memory.get("acted_on"):
        return
    bot.memory["acted_on"] = signal
    direction = signal["direction"]
    if bot.memory.get("direction") not in (None, direction):
        await flatten(bot)  # the error turned: take the profit (or the loss) and start over
    bot.memory["direction"] = direction
    if bot.memory.get("pairs", 0) >= MAX_PAIRS:
        return
    spx = f"SPX_{atm(signal['spx_price'], 100)}_CALL"
    spy = f"SPY_{atm(signal['spy_price'], 10)}_CALL"
    spy_side, spx_side = ("sell", "buy") if direction == "SPY_RICH" else ("buy", "sell")
    first = await bot.attempt(bot.client.place_order(spy, spy_side, SPY_PER_SPX))
    if first is None:
        return
    await bot.attempt(bot.client.place_order(spx, spx_side, 1))
    bot.memory["pairs"] = bot.memory.get("pairs", 0) + 1


if __name__ == "__main__":
    # a price read before a tick can fall outside the band the tick moved: refused, and
    # the next tick prices again
    main("example-arb", "arbitrage", step, handled={"MARKET_CLOSED", "INVALID_PRICE"})
