"""A test bot (a retail trader) that blocks on its second tick without using CPU."""

from __future__ import annotations

import time

from tradepit.bot import Bot, main


async def step(bot: Bot) -> None:
    bot.memory["ticks"] = bot.memory.get("ticks", 0) + 1
    if bot.memory["ticks"] == 2:
        time.sleep(3600)  # noqa: ASYNC251 - blocks the event loop on purpose: no done, no CPU


if __name__ == "__main__":
    main("sleeper", "retail", step, handled=set())
