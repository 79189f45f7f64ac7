"""On a lockstep session the kit returns an answer only once the bot's stream shows it
(``tradepit.applied``): a fill's ``execution_report`` comes on the stream socket, the
order's answer on the REST call or the order socket, and without the wait either could
come first. Real engine and gateway processes; two kit bots run by ``tradepit.bot.run``.

Each pair of ticks the maker rests a sell, then the fund's buy crosses it: right after
the fund's answer, ``state.positions`` already holds the fill, over REST and over the
order socket alike; and right after the maker's answer its state holds the order.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from tradepit import Client
from tradepit.bot import Bot, run

from tests.e2e.server import running_server

BUYS = 20
CONFIG = f"""
[schedule]
clock = "lockstep"
tick_budget_seconds = 30
tick_seconds = 0.25
pre_open_ticks = 1
auction_ticks = 1
continuous_ticks = {2 * BUYS + 4}
"""


class Pit:
    """What the two steps share: the maker's resting sell, and what each saw."""

    def __init__(self) -> None:
        self.resting: float | None = None  # the price of the maker's resting sell
        self.bought = 0
        self.fund: list[tuple[str, int, int]] = []  # (transport, position seen, expected)
        self.maker: list[bool] = []  # the maker's order in its state right after its answer


async def maker_step(bot: Bot, pit: Pit) -> None:
    if bot.state.phase != "continuous" or pit.resting is not None or pit.bought >= BUYS:
        return
    fair = bot.state.fair["SPY"]
    price = round(fair * 1.02, 2)  # above the fair value: nothing else trades it
    placed = await bot.client.place_order("SPY", "sell", 1, price)
    pit.maker.append(placed.order_id in bot.state.orders)
    pit.resting = price


async def fund_step(bot: Bot, pit: Pit) -> None:
    # the maker's sell is answered only once this bot is done with its tick (a round
    # waits for it), so a tick's fund step never sees a sell of the same tick
    if bot.state.phase != "continuous" or pit.resting is None:
        return
    transport = "rest" if pit.bought % 2 else "ws"
    bot.client.order_entry = transport
    result = await bot.client.place_order("SPY", "buy", 1, pit.resting)
    assert result.fills, result  # it crossed the maker's sell
    pit.bought += 1
    pit.fund.append((transport, bot.state.positions.get("SPY", 0), pit.bought))
    pit.resting = None


def args(url: str, name: str, key_file: Path) -> argparse.Namespace:
    return argparse.Namespace(url=url, name=name, key_file=key_file, ticks=0, seed=1)


async def session(url: str, tmp: Path) -> Pit:
    pit = Pit()
    keys = {name: tmp / f"{name}.key" for name in ("kit-maker", "kit-fund")}
    # both registered before either is ready: the session waits for both from tick 1
    for (name, key), role in zip(keys.items(), ("market_maker", "hedge_fund"), strict=True):
        async with Client(url) as client:
            await client.load_or_register(key, name, role)

    async def maker(bot: Bot) -> None:
        await maker_step(bot, pit)

    async def fund(bot: Bot) -> None:
        await fund_step(bot, pit)

    async with asyncio.timeout(300):
        codes = await asyncio.gather(
            run(args(url, "kit-maker", keys["kit-maker"]), "market_maker", maker, set()),
            run(args(url, "kit-fund", keys["kit-fund"]), "hedge_fund", fund, set()),
        )
    assert list(codes) == [0, 0]
    return pit


def test_the_state_after_an_answer_holds_what_it_caused(tmp_path: Path) -> None:
    # only the two bots trade: no house, no retail flow
    with running_server(tmp_path, "--no-house", "--no-retail", config=CONFIG) as server:
        pit = asyncio.run(session(server.url, tmp_path))
    assert pit.bought == BUYS
    assert all(seen == expected for _, seen, expected in pit.fund), pit.fund
    assert {transport for transport, _, _ in pit.fund} == {"rest", "ws"}
    assert pit.maker == [True] * BUYS
