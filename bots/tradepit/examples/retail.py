"""Example retail trader: a few random small orders, always inside the limits.

Run it:  python -m tradepit.examples.retail --url http://localhost:8000

Once a tick (the role may send one order a second) it picks an option at random and
buys or sells 1 to 3 contracts: a market order, or a limit order a little inside the
touch. Retail may hold 50 contracts in all, counting resting orders, so when it is
near that it only sends orders that reduce a position, and it cancels what rests.
"""

from __future__ import annotations

from tradepit.bot import Bot, main

TOTAL = 50


async def step(bot: Bot) -> None:
    s, rng = bot.state, bot.rng
    if s.phase != "continuous":
        return
    if s.orders and rng.random() < 0.3:  # orders left resting from earlier ticks
        await bot.attempt(bot.client.cancel_all())
    exposure = sum(abs(q) for q in s.positions.values()) + sum(
        o.remaining for o in s.orders.values()
    )
    quantity = rng.randint(1, 3)
    if exposure + quantity > TOTAL and s.positions:
        iid, held = max(s.positions.items(), key=lambda p: abs(p[1]))
        side, quantity = ("sell" if held > 0 else "buy"), min(quantity, abs(held))
    elif exposure + quantity > TOTAL:
        return
    else:
        options = [iid for iid in s.market if iid.endswith(("_CALL", "_PUT"))]
        if not options:
            return
        iid, side = rng.choice(sorted(options)), rng.choice(["buy", "sell"])
    md = s.market.get(iid)
    if rng.random() < 0.5 or md is None or md.bid is None or md.ask is None:
        await bot.attempt(bot.client.place_order(iid, side, quantity))
        return
    price = md.bid + 0.01 if side == "buy" else md.ask - 0.01
    if md.bid < price < md.ask:
        await bot.attempt(bot.client.place_order(iid, side, quantity, round(price, 2)))


if __name__ == "__main__":
    # a price read before a tick can fall outside the band the tick moved: refused, and
    # the next tick prices again
    main("example-retail", "retail", step, handled={"MARKET_CLOSED", "INVALID_PRICE"})
