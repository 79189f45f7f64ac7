"""``tradepit replay``: verify, serve, inspect or export a recorded session."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="replay_command", required=True)
    verify = subs.add_parser("verify", help="re-execute a session and compare every event")
    verify.add_argument("data_dir", type=Path, help="a session directory (or its log/)")


def run(args: argparse.Namespace) -> int:
    if args.replay_command == "verify":
        from engine.replay.verify import verify

        return verify(args.data_dir)
    raise AssertionError(args.replay_command)
