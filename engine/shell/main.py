"""``tradepit engine``: run the engine alone on one session directory."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

import trio

from engine import config as configmod
from engine import heap, lifeline
from engine import log as logmod
from engine.log.nats import access
from engine.shell.sequencer import Engine, EngineError, NatsOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, required=True, help="the session directory")
    parser.add_argument("--config", type=Path, help="TOML config (new sessions only)")
    parser.add_argument("--seed", type=int, help="session seed (new sessions only)")
    parser.add_argument("--host", default=None, help="command socket address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="command socket port (default: any)")
    parser.add_argument("--no-clock", action="store_true", help="do not issue ticks and phases")
    parser.add_argument("--no-house", action="store_true", help="no house liquidity provider")
    parser.add_argument("--no-retail", action="store_true", help="no simulated retail flow")
    add_nats_arguments(parser)


def add_nats_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nats",
        metavar="URL",
        help="also publish the log to NATS JetStream (URL[,URL...], no credentials in it)",
    )
    parser.add_argument(
        "--session", help="the session's name on NATS (default: the data dir's name)"
    )
    parser.add_argument(
        "--nats-replicas", type=int, default=1, help="replicas of a new stream (3 on a cluster)"
    )
    access.add_arguments(parser)


def nats_options(args: argparse.Namespace, data_dir: Path) -> NatsOptions | None:
    if not args.nats:
        return None
    return NatsOptions(
        access.check_url(args.nats),
        args.session or Path(data_dir).resolve().name,
        args.nats_replicas,
        key_file=args.nats_key,
        access=access.NatsAccess.from_args(args),
    )


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


async def run_engine(engine: Engine, host: str, port: int, clock: bool) -> int:
    """Serve until SIGINT or SIGTERM, or until the closing bell is durable, then close the
    log cleanly. The exit status: 0, or ``lifeline.DAY_ENDED_EXIT`` after the bell."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_after_the_bell, engine, nursery.cancel_scope)
            nursery.start_soon(lifeline.watch_supervisor, lifeline.supervisor_pid())
            address = await nursery.start(engine.serve, host, port, clock)
            logging.getLogger("tradepit.engine").info(
                "engine listening on %s:%d, log in %s", *address, engine.data_dir / "log"
            )
            async for signum in signals:
                logging.getLogger("tradepit.engine").info(
                    "%s: stopping", signal.Signals(signum).name
                )
                nursery.cancel_scope.cancel()
                break
    return lifeline.DAY_ENDED_EXIT if engine.day_ended.is_set() else 0


#: How long the engine stays up after the bell is durable: its answer (and any other
#: queued reply) reaches the gateways, which are reading the log already.
BELL_GRACE_SECONDS = 2.0


async def _stop_after_the_bell(engine: Engine, scope: trio.CancelScope) -> None:
    await engine.day_ended.wait()
    logging.getLogger("tradepit.engine").info("the closing bell rang: the engine stops")
    await trio.sleep(BELL_GRACE_SECONDS)
    scope.cancel()


def run(args: argparse.Namespace) -> int:
    lifeline.bind_to_supervisor()
    setup_logging()
    try:
        overrides: dict[str, object] = {}
        if args.no_house:
            overrides["house"] = {"enabled": False}
        if args.no_retail:
            overrides["retail"] = {"enabled": False}
        config = configmod.load(args.config, **overrides)
        engine = Engine(args.data_dir, config, args.seed, nats=nats_options(args, args.data_dir))
        engine.open()
        heap.freeze_start_up()  # the core rebuilt from the log lives as long as the process
    except (configmod.ConfigError, logmod.LogError, EngineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    host = args.host or config.engine.host
    port = args.port if args.port is not None else config.engine.port
    try:
        status = trio.run(run_engine, engine, host, port, not args.no_clock)
    except (EngineError, BaseExceptionGroup) as exc:  # fenced by another engine's append
        stopped = exc if isinstance(exc, EngineError) else exc.subgroup(EngineError)
        if stopped is None:
            raise
        print(f"error: {_first(stopped)}", file=sys.stderr)
        return 3
    return status


def _first(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
