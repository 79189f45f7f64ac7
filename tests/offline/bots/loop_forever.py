"""A test bot (a hedge fund) that spins forever on its second tick: the ladder must stop it
on the per-tick CPU budget, and the heat must go on without it."""

from __future__ import annotations

from tradepit.bot import Bot, main


async def step(bot: Bot) -> None:
    bot.memory["ticks"] = bot.memory.get("ticks", 0) + 1
    if bot.memory["ticks"] == 2:
        n = 0
        while n >= 0:  # never ends: a bug, as a student's bot may have
            n += 1


if __name__ == "__main__":
    main("looper", "hedge_fund", step, handled=set())
