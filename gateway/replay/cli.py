"""``tradepit replay``: verify, serve, inspect or export a recorded session."""

from __future__ import annotations

import argparse
from pathlib import Path

from gateway.replay.serve import parse_speed


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

    inspect = subs.add_parser("inspect", help="books, positions, orders, cash and P&L at a seq")
    inspect.add_argument("data_dir", type=Path)
    inspect.add_argument("--at-seq", type=int, required=True)
    inspect.add_argument("--team", help="one team (id or name)")
    inspect.add_argument("--instrument", help="one instrument")
    inspect.add_argument("--json", action="store_true", help="JSON instead of tables")

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
    if args.replay_command == "export":
        from gateway.replay.export import export

        return export(args)
    raise AssertionError(args.replay_command)
