"""What every example bot shares: its command line, registration, the stream, and a
``on_tick`` step run once per tick (a tick is skipped while the last step still runs).

A bot counts the refusals it got by code; the ones it expects (``handled``) are part
of trading, any other one makes it exit 1 so a test or a tournament notices.

Under ``tradepit backtest`` (docs/backtest.md) the environment says where to go:
``TRADEPIT_URL``, ``TRADEPIT_WS_URL`` and ``TRADEPIT_API_KEY`` (the team is given, not
registered), ``TRADEPIT_SEED`` (the bot's own randomness). On a lockstep session the
bot tells the server when it is done with each tick (``lockstep_done``): once
when its stream is up, then after each step returns; and it stops at the close. There
its orders, quotes, cancels and ``lockstep_done`` go over the order socket
(``orders="ws"``), REST when the socket cannot open.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import random
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from tradepit.client import Client
from tradepit.errors import ApiError
from tradepit.messages import Event, TickStart
from tradepit.state import State
from tradepit.stream import Stream


class Bot:
    def __init__(self, client: Client, state: State, args: argparse.Namespace) -> None:
        self.client = client
        self.state = state
        self.args = args
        self.rng = random.Random(args.seed)
        self.refused: Counter[str] = Counter()
        self.memory: dict[str, Any] = {}  # whatever a strategy keeps between ticks

    async def attempt(self, call: Awaitable[object]) -> object | None:
        """Run one request; a refusal is counted and answered with None."""
        try:
            return await call
        except ApiError as exc:
            self.refused[exc.code] += 1
            return None


Step = Callable[[Bot], Coroutine[Any, Any, None]]

#: Refusals the organisers cause (a halt, the closing bell): never the bot's fault, so
#: never a reason to exit 1, whatever a bot lists as ``handled``.
ORGANISERS = frozenset({"TRADING_HALTED", "COMPETITION_ENDED"})


def arguments(name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=f"tradepit example bot: {name}")
    parser.add_argument("--url", default=os.environ.get("TRADEPIT_URL", "http://localhost:8000"))
    parser.add_argument("--name", default=name, help="the team name to register")
    parser.add_argument("--key-file", type=Path, default=None, help="reuse (or save) the key")
    parser.add_argument("--ticks", type=int, default=0, help="stop after this many ticks")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("TRADEPIT_SEED", "1")))
    return parser


async def run(args: argparse.Namespace, role: str, step: Step, handled: set[str]) -> int:
    given = os.environ.get("TRADEPIT_API_KEY")
    prefix = f"bt{args.seed}" if given else None  # a backtest's fork is new: no clash
    async with Client(
        args.url, ws_url=os.environ.get("TRADEPIT_WS_URL"), order_id_prefix=prefix
    ) as client:
        if given:  # a backtest's team: made (or taken over) for us
            await client.use_key(given)
        else:
            key_file = args.key_file or Path(f"{args.name}.key")
            await client.load_or_register(key_file, args.name, role)
        lockstep = (await client.health()).clock_mode == "lockstep"
        if lockstep:
            client.lockstep()
            # a backtest's tick waits for the bot's requests: one frame each on the order
            # socket costs both processes a fraction of an HTTP request (BENCHMARKS.md)
            client.order_entry = "ws"
            handled = handled | {"RATE_LIMIT_EXCEEDED"}  # the tick's share is spent: wait
        clock = SessionClock()
        stream = Stream(client)
        bot = Bot(client, stream.state, args)
        print(f"{args.name}: team {client.team_id} ({client.role}) on {args.url}", flush=True)
        ticks, running, ready = 0, None, not lockstep
        async for msg, _ in stream:
            if not ready:  # the snapshot is in: ready for the session's next tick
                ready = True
                await client.lockstep_done(stream.state.tick)
            if lockstep and isinstance(msg, Event) and stream.state.phase == "closed":
                break  # a backtest's session is over
            if not isinstance(msg, TickStart):
                continue
            ticks += 1
            if args.ticks and ticks > args.ticks:
                break
            client.session_time = clock.seconds(msg.timestamp)
            if lockstep and running is not None:
                # the last step is saying it is done: its answer can trail this tick
                await running
            if running is None or running.done():
                failed = running.exception() if running is not None else None
                if failed is not None:
                    raise failed
                running = asyncio.create_task(_step(bot, step, lockstep, msg.data.tick_number))
        stream.close()
        if running is not None:
            await running
    unexpected = {c: n for c, n in bot.refused.items() if c not in handled | ORGANISERS}
    print(f"{args.name}: {ticks - 1} ticks; refused {dict(bot.refused)}", flush=True)
    if unexpected:
        print(f"{args.name}: unexpected refusals {unexpected}", file=sys.stderr)
        return 1
    return 0


class SessionClock:
    """Seconds of the session's clock since the first tick seen, from message times."""

    def __init__(self) -> None:
        self.first: datetime.datetime | None = None

    def seconds(self, timestamp: str) -> float:
        try:
            at = datetime.datetime.fromisoformat(timestamp)
        except ValueError:
            return 0.0
        if self.first is None:
            self.first = at
        return (at - self.first).total_seconds()


async def _step(bot: Bot, step: Step, lockstep: bool, tick: int) -> None:
    """One tick's step; on a lockstep session, then say so (its orders are all answered)."""
    await step(bot)
    if lockstep:
        await bot.client.lockstep_done(tick)


def main(name: str, role: str, step: Step, handled: set[str]) -> None:
    args = arguments(name).parse_args()
    sys.exit(asyncio.run(run(args, role, step, handled)))
