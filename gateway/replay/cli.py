"""``tradepit replay``: verify, serve, index, inspect or export a recorded session."""

from __future__ import annotations

import argparse
from pathlib import Path

from gateway.replay.index import DEFAULT_EVERY
from gateway.replay.serve import parse_speed


def snapshot_every(text: str) -> int:
    every = int(text)
    if every < 0:
        raise argparse.ArgumentTypeError("a snapshot every K >= 0 records (0: no index)")
    return every


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="replay_command", required=True)
    verify = subs.add_parser("verify", help="re-execute a session and compare every event")
    verify.add_argument("data_dir", type=Path, help="a session directory (or its log/)")

    serve = subs.add_parser("serve", help="serve a recorded session to bots, paced")
    serve.add_argument("data_dir", type=Path)
    serve.add_argument("--speed", type=parse_speed, default=1.0, help="10 = ten times faster; max")
    serve.add_argument("--from-seq", type=int, default=1, help="start pacing at this seq")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--paused", action="store_true", help="start paused (see /admin/replay)")
    serve.add_argument(
        "--snapshot-every",
        type=snapshot_every,
        default=DEFAULT_EVERY,
        metavar="K",
        help=f"index the log for seeks, a snapshot every K records ({DEFAULT_EVERY}; 0: off)",
    )

    index = subs.add_parser("index", help="fold the log once, a snapshot every K records")
    index.add_argument("data_dir", type=Path)
    index.add_argument("--snapshot-every", type=snapshot_every, default=DEFAULT_EVERY, metavar="K")

    inspect = subs.add_parser("inspect", help="books, positions, orders, cash and P&L at a seq")
    inspect.add_argument("data_dir", type=Path)
    inspect.add_argument("--at-seq", type=int, required=True)
    inspect.add_argument("--team", help="one team (id or name)")
    inspect.add_argument("--instrument", help="one instrument")
    inspect.add_argument("--json", action="store_true", help="JSON instead of tables")

    fork = subs.add_parser("fork", help="a new session going on from a recorded one at a seq")
    fork.add_argument("data_dir", type=Path, help="the recorded session")
    fork.add_argument("out", type=Path, help="the fork's new session directory")
    where = fork.add_mutually_exclusive_group()
    where.add_argument("--at-seq", type=int, help="fork after the command group of this seq")
    where.add_argument("--at-tick", type=int, help="fork right after this tick started (0)")
    who = fork.add_mutually_exclusive_group()
    who.add_argument("--as", dest="takeover", metavar="TEAM_ID", help="take over this team")
    who.add_argument("--role", help="a new team of this role joins")
    fork.add_argument("--team-name", default="bot-under-test")
    fork.add_argument("--others", choices=("replay", "drop"), default="replay")
    fork.add_argument("--clock", choices=("lockstep", "wall"), default="lockstep")
    fork.add_argument("--tick-budget", type=float, default=1.0, help="lockstep: seconds a tick")
    fork.add_argument("--start-budget", type=float, default=60.0, help="lockstep: the first")
    fork.add_argument("--until-tick", type=int, default=0, help="close after this tick")

    export = subs.add_parser(
        "export", help="trades, orders, prices, messages or per-tick scores as CSV/JSONL"
    )
    export.add_argument("data_dir", type=Path)
    export.add_argument(
        "--what", choices=("trades", "orders", "prices", "messages", "scores"), required=True
    )
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--team", help="only this team's rows (team id)")


def run(args: argparse.Namespace) -> int:
    if args.replay_command == "verify":
        from engine.replay.verify import verify

        return verify(args.data_dir)
    if args.replay_command == "serve":
        from gateway.replay.serve import serve

        return serve(args)
    if args.replay_command == "inspect":
        from gateway.replay.inspect import inspect

        return inspect(args)
    if args.replay_command == "index":
        from gateway.replay.index import index

        return index(args.data_dir, args.snapshot_every)
    if args.replay_command == "fork":
        return fork(args)
    if args.replay_command == "export":
        from gateway.replay.export import export

        return export(args)
    raise AssertionError(args.replay_command)


def fork(args: argparse.Namespace) -> int:
    """``replay fork``: write the fork, then say how to serve it and where its key is."""
    from engine.replay.fork import ForkError, ForkOptions
    from engine.replay.fork import fork as make

    options = ForkOptions(
        at_seq=args.at_seq,
        at_tick=args.at_tick,
        takeover=args.takeover,
        role=args.role,
        team_name=args.team_name,
        others=args.others,
        clock=args.clock,
        tick_budget_seconds=args.tick_budget,
        start_budget_seconds=args.start_budget,
        until_tick=args.until_tick,
    )
    try:
        made = make(args.data_dir, args.out, options)
    except ForkError as exc:
        print(f"error: {exc}")
        return 2
    print(
        f"forked {made.parent_session_id} at seq {made.parent_seq} (tick {made.tick}, "
        f"{made.phase}, digest {made.parent_digest}) into {made.directory}: "
        f"{made.records} records, {made.scripted} recorded commands to replay"
    )
    if made.team_id is not None:
        print(f"the bot under test is {made.team_id}; its key is in {made.directory}/keys.json")
    print(f"serve it: tradepit serve --data-dir {made.directory}")
    return 0
