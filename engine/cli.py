"""The ``tradepit`` command: one entry point, subcommands dispatched to their modules."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

# subcommand -> (module, help); each module has ``add_arguments(parser)`` and ``run(args) -> int``
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("engine.serve.supervisor", "run an engine and gateways on one data dir"),
    "engine": ("engine.shell.main", "run the engine alone"),
    "gateway": ("gateway.main", "run one gateway over a log"),
    "replay": ("gateway.replay.cli", "verify, serve, inspect or export a recorded session"),
    "results": ("gateway.offline.results", "final standings per role: table, CSV or JSON"),
    "tournament": (
        "gateway.offline.tournament",
        "heats of bots on fresh sessions, ranked across heats",
    ),
    "backtest": (
        "gateway.offline.backtest",
        "fork a recorded session and trade a bot against it, in lockstep",
    ),
    "log": ("engine.log.cli", "inspect a log: verify, dump"),
    "native": ("engine.native", "compile the core with mypyc when it changed, or say if it is"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tradepit", description=__doc__)
    subs = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] in ("engine", "gateway"):
                continue  # a part of ours that this checkout does not have
            raise
        sub = subs.add_parser(name, help=help_text)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "serve":
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        code: int = args._run(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    return code


def _reader_went_away() -> int:
    """The reader of our output closed it (``| head``): stop quietly, as ``cat`` does.

    stdout now points to /dev/null, so the interpreter's flush at exit cannot raise again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
