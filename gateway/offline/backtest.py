"""``tradepit backtest SESSION_DIR --bot COMMAND``: trade a bot against a recorded session.

Theory of operation
-------------------
1. Fork the recorded session (``engine/replay/fork.py``) into ``OUT/session``: a
   verified copy up to the fork point, then the bot under test joins as a new team
   (``--role``) or takes a recorded team over (``--as``). The fork runs on the lockstep
   clock, so the session moves on as soon as the bot says it is done with a tick.
2. Serve it (``tradepit serve`` on a free loopback port) and run COMMAND through the
   shell with ``TRADEPIT_URL``, ``TRADEPIT_WS_URL``, ``TRADEPIT_API_KEY`` and
   ``TRADEPIT_SEED`` in its environment (the bot kit reads them).
3. Wait for the session to close (its last tick, or ``--until-tick``), stop the bot,
   then the server, and write ``results.json`` (``tradepit results --format json``'s
   standings) and ``report.json`` / ``report.txt``: the team in the fork beside the
   same team in the original at the same tick.

The bot's key is derived from the fork (its session id and the parent's digest), not
drawn at random: the same fork with the same deterministic bot then gives the same
log, byte for byte. It opens nothing but a server on loopback that lives as long as
the backtest; a fork served to others (``tradepit replay fork``) gets a random key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from engine import log as logmod
from engine.ports import free_port
from engine.records import ROLES, PhaseChanged, TickStarted
from engine.replay.fork import Forked, ForkError, ForkOptions, fork
from gateway import scoring
from gateway.offline import results

#: How often the backtest looks at the fork's log for its close (a CLI, not a test).
POLL_SECONDS = 0.05
STOP_SECONDS = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", type=Path, help="the recorded session directory")
    parser.add_argument("--bot", help="the bot's command line, run by the shell")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--at-seq", type=int, help="fork after the command group of this seq")
    where.add_argument("--at-tick", type=int, help="fork right after this tick started (0)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--as", dest="takeover", metavar="TEAM_ID", help="take over this team")
    who.add_argument("--role", choices=ROLES, help="join as a new team of this role")
    parser.add_argument("--team-name", default="bot-under-test", help="a new team's name")
    parser.add_argument("--others", choices=("replay", "drop"), default="replay")
    parser.add_argument("--until-tick", type=int, default=0, help="close after this tick")
    parser.add_argument("--out", type=Path, help="the output directory (backtests/NAME)")
    parser.add_argument("--runs", type=int, default=1, help="runs, each with its own seed")
    parser.add_argument("--seed", type=int, default=1, help="the first run's TRADEPIT_SEED")
    parser.add_argument(
        "--tick-budget", type=float, default=1.0, help="seconds a tick waits for the bot (1.0)"
    )
    parser.add_argument(
        "--start-budget", type=float, default=60.0, help="seconds the first tick waits (60)"
    )
    parser.add_argument(
        "--timeout", type=float, default=0.0, help="stop after this many seconds (0: none)"
    )


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.bot and not (args.takeover or args.role):
        print("error: the bot needs a team: --as TEAM_ID or --role ROLE", file=sys.stderr)
        return 2
    name = args.session.resolve().name
    root: Path = args.out or Path("backtests") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    code = 0
    for i in range(max(args.runs, 1)):
        target = root if args.runs <= 1 else root / f"run-{i + 1}"
        try:
            report = backtest(args, target, args.seed + i)
        except ForkError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(text(report), file=out)
        code = code or (0 if report["finished"] else 1)
    return code


def options(args: argparse.Namespace, session_id: str) -> ForkOptions:
    return ForkOptions(
        at_seq=args.at_seq,
        at_tick=args.at_tick,
        takeover=args.takeover,
        role=args.role if args.bot else None,
        team_name=args.team_name,
        others=args.others,
        tick_budget_seconds=args.tick_budget,
        start_budget_seconds=args.start_budget,
        until_tick=args.until_tick,
        session_id=session_id,
        wait_for_bot=bool(args.bot),
    )


def backtest(args: argparse.Namespace, out: Path, seed: int) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    parent_id = args.session.resolve().name
    opts = options(args, f"{parent_id}-fork")
    # the key: a function of the fork, so two runs of it write the same log
    made = fork(args.session, out / "session", _with_key(opts, args.session))
    port = free_port()
    url, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
    started = time.monotonic()
    serve_log = (out / "serve.log").open("w")
    # a backtest's log is made again by running it again: no fsync (its figure is in
    # ./scripts/bench backtest); the session's rules come from its own log, as always
    (out / "serve.toml").write_text('[log]\nfsync = "off"\n')
    serve = ["serve", "--data-dir", str(made.directory), "--port", str(port),
             "--config", str(out / "serve.toml")]  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *serve, "--host", "127.0.0.1"],
        stdout=serve_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    bot: subprocess.Popen[bytes] | None = None
    bot_log = (out / "bot.log").open("w")
    why = ""
    ticking = [0.0]  # seconds from the fork's first tick to its close
    try:
        if not _listening(port, server):
            why = "the server did not start (see serve.log)"
        elif args.bot:
            env = {**os.environ, "TRADEPIT_URL": url, "TRADEPIT_WS_URL": ws_url,
                   "TRADEPIT_API_KEY": made.api_key or "", "TRADEPIT_SEED": str(seed)}  # fmt: skip
            bot = subprocess.Popen(
                args.bot,
                shell=True,
                env=env,
                stdout=bot_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not why:
            why = _wait_closed(made, server, bot, args.timeout, ticking)
    finally:
        bot_code = _stop(bot)
        _stop(server)
        serve_log.close()
        bot_log.close()
    elapsed = time.monotonic() - started
    board = results.standings(results.score(made.directory))
    (out / "results.json").write_text(json.dumps(board, indent=1) + "\n")
    report = compare(args.session, made, board, elapsed, ticking[0], bool(args.takeover))
    report |= {"finished": not why, "stopped_because": why or None, "bot_exit": bot_code,
               "seed": seed, "out": str(out)}  # fmt: skip
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "report.txt").write_text(text(report) + "\n")
    return report


def _with_key(opts: ForkOptions, parent: Path) -> ForkOptions:
    from dataclasses import replace

    if not (opts.takeover or opts.role):
        return opts
    seed = f"tradepit-backtest:{parent.resolve().name}:{opts.session_id}:{opts.at_seq}:"
    seed += f"{opts.at_tick}:{opts.takeover or opts.role}"
    return replace(opts, api_key=hashlib.sha256(seed.encode()).hexdigest())


def _listening(port: int, server: subprocess.Popen[bytes], wait: float = 60.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return True
        except OSError:
            time.sleep(POLL_SECONDS)
    return False


def _wait_closed(
    made: Forked,
    server: subprocess.Popen[bytes],
    bot: subprocess.Popen[bytes] | None,
    timeout: float,
    ticking: list[float],
) -> str:
    since = time.monotonic()
    """'' once the fork's session closed, else why the wait ended first; and the wall
    time from the fork's first tick to that moment (the lockstep part of the run)."""
    deadline = time.monotonic() + timeout if timeout > 0 else float("inf")
    seq = made.records
    first: float | None = None
    while True:
        with logmod.open_reader(made.directory / "log") as reader:
            for record in reader.read(seq + 1):
                seq = record.seq
                if first is None and isinstance(record, TickStarted):
                    first = time.monotonic()
                if isinstance(record, PhaseChanged) and record.phase == "closed":
                    # all of it between two looks (no bot): from the server's start
                    ticking[0] = time.monotonic() - (first if first is not None else since)
                    return ""
        if server.poll() is not None:
            return f"the server stopped (exit {server.returncode}; see serve.log)"
        if bot is not None and bot.poll() is not None:
            return f"the bot exited with {bot.returncode} before the close (see bot.log)"
        if time.monotonic() > deadline:
            return f"--timeout {timeout:g} s"
        time.sleep(POLL_SECONDS)


def _stop(proc: subprocess.Popen[bytes] | None) -> int | None:
    if proc is None:
        return None
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def at_tick(data_dir: Path, tick: int) -> scoring.Scorer:
    """The scorer folded up to (not into) the start of tick ``tick + 1``."""
    scorer = scoring.Scorer()
    with logmod.open_reader(logmod.log_directory(data_dir)) as reader:
        for record in reader.read(1):
            if isinstance(record, TickStarted) and record.tick_number > tick:
                break
            scorer.apply(record)
    return scorer


def _figures(scorer: scoring.Scorer, team_id: str | None) -> dict[str, Any] | None:
    team = scorer.teams.get(team_id or "")
    if team is None:
        return None
    rank = scoring.ranks(scorer).get(team.team_id)
    f = scoring.figures(scorer, team, rank)
    keys = ("team_id", "team_name", "role", "rank", "score", "pnl", "position", "positions",
            "trades", "volume", "cash")  # fmt: skip
    return {k: f.get(k) for k in keys}


def compare(
    parent: Path,
    made: Forked,
    board: dict[str, Any],
    elapsed: float,
    ticking: float,
    takeover: bool,
) -> dict[str, Any]:
    """The team in the fork beside the same team in the original, at the fork's last tick
    (a new team has none: ``original`` is null)."""
    fork_scorer = results.score(made.directory)
    last = fork_scorer.tick_number
    original = at_tick(parent, last)
    ticks = last - made.tick
    recorded_ns = _span(parent, made.tick, last)
    return {
        "session": made.session_id,
        "parent": made.parent_session_id,
        "fork_seq": made.parent_seq,
        "fork_tick": made.tick,
        "last_tick": last,
        "team_id": made.team_id,
        "fork": _figures(fork_scorer, made.team_id),
        "original": _figures(original, made.team_id) if takeover else None,
        "original_tick": original.tick_number,
        "late_ticks": board.get("late_ticks", {}).get(made.team_id or "", 0),
        "replayed_commands": made.scripted,
        "dropped_commands": made.dropped,
        "wall_seconds": round(elapsed, 3),  # start-up and shutdown included
        "ticking_seconds": round(ticking, 3),  # from the fork's first tick to its close
        "ticks": ticks,
        "ticks_per_second": round(ticks / ticking, 1) if ticking > 0 else None,
        "recorded_seconds": round(recorded_ns / 1e9, 3),
        "speedup_vs_recorded": round(recorded_ns / 1e9 / ticking, 1) if ticking > 0 else None,
    }


def _span(parent: Path, first: int, last: int) -> int:
    """Nanoseconds of the original's wall time from tick ``first`` to tick ``last``."""
    start = end = 0
    with logmod.open_reader(logmod.log_directory(parent)) as reader:
        for record in reader.read(1):
            if isinstance(record, TickStarted):
                if record.tick_number == max(first, 1):
                    start = record.ts
                if record.tick_number <= last:
                    end = record.ts
    return max(end - start, 0)


def text(report: dict[str, Any]) -> str:
    lines = [
        f"backtest of {report['parent']} forked at seq {report['fork_seq']} "
        f"(tick {report['fork_tick']}), to tick {report['last_tick']}: "
        + ("finished" if report["finished"] else f"stopped: {report['stopped_because']}"),
        f"  {report['ticks']} ticks in {report['ticking_seconds']} s "
        f"({report['ticks_per_second']} ticks/s, {report['speedup_vs_recorded']}x the "
        f"recorded {report['recorded_seconds']} s; {report['wall_seconds']} s in all); "
        f"late ticks (budget ran out): {report['late_ticks']}",
    ]
    fork_f, orig = report["fork"], report["original"]
    if fork_f is not None:
        lines.append(f"  {'':<10} {'fork':>14} {'original':>14}")
        for key in ("score", "pnl", "position", "trades", "volume", "rank"):
            theirs = "-" if orig is None else orig.get(key)
            lines.append(f"  {key:<10} {fork_f.get(key)!s:>14} {theirs!s:>14}")
    lines.append(f"  output in {report['out']}")
    return "\n".join(lines)
