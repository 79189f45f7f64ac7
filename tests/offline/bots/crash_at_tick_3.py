"""A test bot (a market maker) that raises on its third tick: the ladder must see a crash."""

from __future__ import annotations

from tradepit.bot import Bot, main


async def step(bot: Bot) -> None:
    bot.memory["ticks"] = bot.memory.get("ticks", 0) + 1
    if bot.memory["ticks"] == 3:
        raise RuntimeError("the crashing test bot crashes at its tick 3")


if __name__ == "__main__":
    main("crasher", "market_maker", step, handled=set())
