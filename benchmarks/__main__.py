"""``./scripts/bench NAME`` (``python -m benchmarks NAME``): one benchmark, a table, one JSON line.

The benchmarks are not part of the shipped package: they need the test clients and tools.
Each benchmark is ``benchmarks/NAME.py`` with ``run(quick: bool) -> dict``; it
prints a readable table and returns its figures, which are printed here as the last
line, one JSON object, so runs can be compared across commits.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import subprocess
import sys
import time

import benchmarks


def names() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_")
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=names(), help="which benchmark")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"benchmarks.{args.name}")
    started = time.perf_counter()
    figures = module.run(args.quick)
    result = {
        "benchmark": args.name,
        "quick": args.quick,
        "commit": _commit(),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 2),
        **figures,
    }
    sys.stdout.flush()
    print(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
