"""``tradepit log verify DIR`` and ``tradepit log dump DIR``: check or print a log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from engine.log import FileLogReader, LogError, log_directory, open_reader


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="log_command", required=True)
    verify = subs.add_parser("verify", help="check every frame of a log")
    verify.add_argument("directory", type=Path, help="a log directory, or a session directory")
    dump = subs.add_parser("dump", help="print records as JSON lines")
    dump.add_argument("directory", type=Path)
    dump.add_argument("--from-seq", type=int, default=1)
    dump.add_argument("--limit", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    directory = log_directory(args.directory)
    try:
        with open_reader(directory) as reader:
            if args.log_command == "verify":
                return _verify(reader, directory)
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


def _verify(reader: FileLogReader, directory: Path) -> int:
    """Read every record up to the committed head taken once, before reading.

    On a live log the head moves while we read: reading to one head and printing another
    (read again afterwards) once gave "313,824 records, seqs 1..313,914". The count and
    the range printed are the records read, and their seqs must be contiguous.
    """
    head = reader.head_seq
    count = 0
    expected = 1
    for record in reader.read(1, head):
        if record.seq != expected:
            print(
                f"error: seq {record.seq} where {expected} was expected, in {directory}",
                file=sys.stderr,
            )
            return 2
        count += 1
        expected += 1
    if count != head:
        print(
            f"error: {count} records before the committed seq {head}, in {directory}",
            file=sys.stderr,
        )
        return 2
    print(f"OK: {count} records, seqs 1..{head}, in {directory}")
    return 0
