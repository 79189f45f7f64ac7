"""A test bot (a retail trader) that blocks on its second tick without using CPU."""

from __future__ import annotations

import signal

from tradepit.bot import Bot, main


async def step(bot: Bot) -> None:
    bot.memory["ticks"] = bot.memory.get("ticks", 0) + 1
    if bot.memory["ticks"] == 2:
        while True:  # blocks the event loop on purpose, until killed: no done, no CPU
            signal.pause()


if __name__ == "__main__":
    main("sleeper", "retail", step, handled=set())
