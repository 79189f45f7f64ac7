"""The ``tradepit`` command: one entry point, subcommands dispatched to their modules."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

#: What ``tradepit --help`` says first: for someone running a competition, not its code.
DESCRIPTION = """\
tradepit runs a trading competition: teams' bots trade simulated options on
SPX and SPY over REST and a WebSocket stream. Every order, fill and tick is
kept in the session's log, so a session can be resumed, replayed and scored."""

EPILOG = """\
Start here:
  tradepit serve                  a new session on http://localhost:8000
  tradepit serve --resume         resume the latest session under ./data
  tradepit results DIR            the standings of the session in DIR
  tradepit replay serve DIR       serve a recorded session to bots again
  tradepit follow --url URL       the public tape; --key KEY: a team's stream

Each command has its own help: tradepit serve --help. Organisers: read
docs/operations.md; bot authors: docs/bots.md and docs/protocol.md."""

# subcommand -> (module, help); each module has ``add_arguments(parser)`` and ``run(args) -> int``
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("engine.serve.supervisor", "run a session: the exchange and its web gateways"),
    "engine": ("engine.shell.main", "run only the exchange's engine (advanced)"),
    "gateway": ("gateway.main", "run one more web gateway for a running session (advanced)"),
    "replay": ("gateway.replay.cli", "check, serve, inspect or export a recorded session"),
    "results": ("gateway.offline.results", "a session's standings per role: table, CSV or JSON"),
    "tournament": (
        "gateway.offline.tournament",
        "heats of bots on fresh sessions, ranked across heats",
    ),
    "admin": (
        "gateway.offline.admin",
        "the organiser's actions (halt, resume, the closing bell, ...) on a running server",
    ),
    "backtest": (
        "gateway.offline.backtest",
        "fork a recorded session and trade a bot against it, in lockstep",
    ),
    "follow": (
        "gateway.offline.follow",
        "print a team's stream or the public tape, one line a message, resuming by seq",
    ),
    "ladder": (
        "gateway.offline.ladder.cli",
        "a practice ladder: submitted bots in rated lockstep heats",
    ),
    "log": ("engine.log.cli", "check a session's log for damage, or print its records"),
    "native": ("engine.native", "build the faster compiled core, or say which one runs"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tradepit",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
