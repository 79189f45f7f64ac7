"""What every example bot shares: its command line, registration, the stream, and a
``on_tick`` step run once per tick (a tick is skipped while the last step still runs).

A bot counts the refusals it got by code; the ones it expects (``handled``) are part
of trading, any other one makes it exit 1 so a test or a tournament notices.

A step runs only on live ticks: the ticks a resumed stream replays (``Stream.replayed``)
update the state but start no step, so a bot never trades on an old tick. At exit,
after ``--ticks N``, on Ctrl-C or SIGTERM, the bot prints one summary line: its fills this run,
and the server's P&L, score, rank and requirements. A mistake of setup (no server at
``--url``, a key file from another session) is one line on stderr and exit 2.

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
import contextlib
import datetime
import os
import random
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec

from tradepit.client import Client
from tradepit.errors import ApiError, TradepitError
from tradepit.messages import Event, TickStart
from tradepit.state import State
from tradepit.stream import Stream

#: How long the summary at exit waits for the server's score before using the stream's.
SUMMARY_SECONDS = 3.0


class Bot:
    """What a step is given: the client, the state kept from the stream, the command
    line, a seeded ``rng``, the refusals counted so far and a ``memory`` of its own."""

    def __init__(self, client: Client, state: State, args: argparse.Namespace) -> None:
        """Made by ``run``; a step never makes one."""
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
    """The command line every example takes: --url, --name, --key-file, --ticks, --seed."""
    parser = argparse.ArgumentParser(description=f"tradepit example bot: {name}")
    parser.add_argument("--url", default=os.environ.get("TRADEPIT_URL", "http://localhost:8000"))
    parser.add_argument("--name", default=name, help="the team name to register")
    parser.add_argument("--key-file", type=Path, default=None, help="reuse (or save) the key")
    parser.add_argument("--ticks", type=int, default=0, help="stop after this many ticks")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("TRADEPIT_SEED", "1")))
    return parser


async def run(args: argparse.Namespace, role: str, step: Step, handled: set[str]) -> int:
    """Register (or reuse the key file), follow the stream, run ``step`` once per live
    tick until ``--ticks``; 0, or 1 when a refusal outside ``handled`` came."""
    # SIGTERM (how a tournament stops a bot that overruns) stops it like Ctrl-C does
    main_task = asyncio.current_task()
    assert main_task is not None
    with contextlib.suppress(ValueError, RuntimeError):  # not the main thread: no signals
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
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
        stream = Stream(client)
        bot = Bot(client, stream.state, args)
        print(f"{args.name}: team {client.team_id} ({client.role}) on {args.url}", flush=True)
        ticks = 0
        try:
            ticks = await _trade(bot, stream, step, lockstep)
        finally:  # on Ctrl-C too: the summary is what the author looks for
            stream.close()
            await _summary(bot, ticks)
    unexpected = {c: n for c, n in bot.refused.items() if c not in handled | ORGANISERS}
    if unexpected:
        print(f"{args.name}: unexpected refusals {unexpected}", file=sys.stderr)
        return 1
    return 0


async def _trade(bot: Bot, stream: Stream, step: Step, lockstep: bool) -> int:
    """The live ticks seen; a step that raised is raised here. On a lockstep session the
    bot says it is ready once its stream is up, and done after each step; it stops at
    the session's close."""
    ticks, running, ready = 0, None, not lockstep
    client, clock = bot.client, SessionClock()
    try:
        async for msg, _ in stream:
            if not ready:  # the snapshot is in: ready for the session's next tick
                ready = True
                await client.lockstep_done(stream.state.tick)
            if lockstep and isinstance(msg, Event) and stream.state.phase == "closed":
                break  # a backtest's session is over
            if not isinstance(msg, TickStart) or stream.replayed:
                continue  # an old tick, replayed after a (re)connection: no trading on it
            ticks += 1
            if bot.args.ticks and ticks > bot.args.ticks:
                ticks -= 1
                break
            client.session_time = clock.seconds(msg.timestamp)
            if lockstep and running is not None:
                # the last step is saying it is done: its answer can trail this tick.
                # Paused: a late step's answers cannot wait for a stream held here
                with stream.applied.paused():
                    await running
            if running is None or running.done():
                failed = running.exception() if running is not None else None
                if failed is not None:
                    raise failed
                running = asyncio.create_task(_step(bot, step, lockstep, msg.data.tick_number))
                # a step that raised ends the bot now: on a lockstep session no next
                # tick comes to notice it (the session waits for this bot's done)
                running.add_done_callback(lambda t: _stop_on_failure(t, stream))
        if running is not None:
            await running  # the last step finishes, as a step always does
            running = None
        return ticks
    finally:
        if running is not None:  # interrupted (Ctrl-C, an error): no step outlives the bot
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


class SessionClock:
    """Seconds of the session's clock since the first tick seen, from message times."""

    def __init__(self) -> None:
        """No tick seen yet."""
        self.first: datetime.datetime | None = None

    def seconds(self, timestamp: str) -> float:
        """Seconds from the first tick seen to ``timestamp`` (an ISO time)."""
        try:
            at = datetime.datetime.fromisoformat(timestamp)
        except ValueError:
            return 0.0
        if self.first is None:
            self.first = at
        return (at - self.first).total_seconds()


def _stop_on_failure(task: asyncio.Task[None], stream: Stream) -> None:
    if not task.cancelled() and task.exception() is not None:
        stream.close()


async def _step(bot: Bot, step: Step, lockstep: bool, tick: int) -> None:
    """One tick's step; on a lockstep session, then say so (its orders are all answered)."""
    await step(bot)
    if lockstep:
        await bot.client.lockstep_done(tick)


async def _summary(bot: Bot, ticks: int) -> None:
    """One line: fills this run, then the server's P&L, score, rank and requirements (the
    stream's last ``score_update`` when the server does not answer in time)."""
    s, name = bot.state, bot.args.name
    score: dict[str, Any] = dict(s.score)
    try:
        async with asyncio.timeout(SUMMARY_SECONDS):
            row = await bot.client.score()
        score = msgspec.structs.asdict(row)
    except (TradepitError, OSError, TimeoutError):
        pass  # the server is gone: the stream's figures are the latest we have
    if score:
        met = "met" if score.get("requirements_met") else f"unmet: {', '.join(score['unmet'])}"
        figures = (
            f"P&L {score['pnl']:,.2f}, score {score['score']:,.2f}, rank {score['rank'] or '-'}"
            f" among {s.role or bot.client.role} teams, requirements {met}"
        )
    else:
        figures = "no score yet"
    print(
        f"{name}: {ticks} ticks, {len(s.fills)} fill{'' if len(s.fills) == 1 else 's'};"
        f" {figures}; refused {dict(bot.refused)}",
        flush=True,
    )


def main(name: str, role: str, step: Step, handled: set[str]) -> None:
    """The entry point of a bot file: parse the command line, run, exit with its code."""
    args = arguments(name).parse_args()
    try:
        code = asyncio.run(run(args, role, step, handled))
    except TradepitError as exc:  # a mistake of setup, said in one line
        print(f"{args.name}: {exc}", file=sys.stderr, flush=True)
        code = 2
    except KeyboardInterrupt:
        code = 130  # the summary is printed already
    except asyncio.CancelledError:
        code = 128 + signal.SIGTERM  # stopped by SIGTERM, the summary printed too
    sys.exit(code)
