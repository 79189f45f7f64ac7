"""``tradepit log verify DIR`` and ``tradepit log dump DIR``: check or print a log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from engine.log import LogError, open_reader


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="log_command", required=True)
    verify = subs.add_parser("verify", help="check every frame of a log")
    verify.add_argument("directory", type=Path, help="a log directory, or a session directory")
    dump = subs.add_parser("dump", help="print records as JSON lines")
    dump.add_argument("directory", type=Path)
    dump.add_argument("--from-seq", type=int, default=1)
    dump.add_argument("--limit", type=int, default=None)


def log_directory(path: Path) -> Path:
    return path / "log" if (path / "log").is_dir() else path


def run(args: argparse.Namespace) -> int:
    directory = log_directory(args.directory)
    try:
        with open_reader(directory) as reader:
            if args.log_command == "verify":
                count = sum(1 for _ in reader.read(1))
                print(f"OK: {count} records, seqs 1..{reader.head_seq}, in {directory}")
                return 0
            encoder = msgspec.json.Encoder()
            for n, record in enumerate(reader.read(args.from_seq)):
                if args.limit is not None and n >= args.limit:
                    break
                row = {"type": type(record).__struct_config__.tag, **msgspec.structs.asdict(record)}
                sys.stdout.write(encoder.encode(row).decode() + "\n")
            return 0
    except LogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
