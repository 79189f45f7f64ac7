"""What every example bot shares: its command line, registration, the stream, and a
``on_tick`` step run once per tick (a tick is skipped while the last step still runs).

A bot counts the refusals it got by code; the ones it expects (``handled``) are part
of trading, any other one makes it exit 1 so a test or a tournament notices.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from tradepit.client import Client
from tradepit.errors import ApiError
from tradepit.messages import TickStart
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
    parser.add_argument("--url", default="http://localhost:8000")
    parser.add_argument("--name", default=name, help="the team name to register")
    parser.add_argument("--key-file", type=Path, default=None, help="reuse (or save) the key")
    parser.add_argument("--ticks", type=int, default=0, help="stop after this many ticks")
    parser.add_argument("--seed", type=int, default=1)
    return parser


async def run(args: argparse.Namespace, role: str, step: Step, handled: set[str]) -> int:
    async with Client(args.url) as client:
        key_file = args.key_file or Path(f"{args.name}.key")
        await client.load_or_register(key_file, args.name, role)
        stream = Stream(client)
        bot = Bot(client, stream.state, args)
        print(f"{args.name}: team {client.team_id} ({role}) on {args.url}", flush=True)
        ticks, running = 0, None
        async for msg, _ in stream:
            if not isinstance(msg, TickStart):
                continue
            ticks += 1
            if args.ticks and ticks > args.ticks:
                break
            if running is None or running.done():
                failed = running.exception() if running is not None else None
                if failed is not None:
                    raise failed
                running = asyncio.create_task(step(bot))
        stream.close()
        if running is not None:
            await running
    unexpected = {c: n for c, n in bot.refused.items() if c not in handled | ORGANISERS}
    print(f"{args.name}: {ticks - 1} ticks; refused {dict(bot.refused)}", flush=True)
    if unexpected:
        print(f"{args.name}: unexpected refusals {unexpected}", file=sys.stderr)
        return 1
    return 0


def main(name: str, role: str, step: Step, handled: set[str]) -> None:
    args = arguments(name).parse_args()
    sys.exit(asyncio.run(run(args, role, step, handled)))
