"""``tradepit replay serve DATA_DIR``: the gateway over a recorded log, at any speed."""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from engine import config as configmod
from engine import log as logmod
from engine.records import StartSession

if TYPE_CHECKING:
    from gateway.replay.paced import Replaying
    from gateway.service import Gateway


def recorded_config(log_dir: Path) -> configmod.Config:
    with logmod.open_reader(log_dir) as reader:
        first = next(reader.read(1, 1), None)
    if not isinstance(first, StartSession):
        raise logmod.LogError(f"{log_dir} does not start with a session record")
    return configmod.from_json(first.config)


def parse_speed(text: str) -> float:
    if text == "max":
        return math.inf
    speed = float(text)
    if not math.isfinite(speed) or speed <= 0:
        raise argparse.ArgumentTypeError("speed is a positive number or 'max'")
    return speed


async def _serve(gw: Gateway, host: str, port: int, replay: Replaying) -> None:
    from gateway.main import serve_app

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(partial(serve_app, gw, host, port, replay=replay))
            print(f"tradepit replay: serving on http://{host}:{bound}", flush=True)
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break


def serve(args: argparse.Namespace) -> int:
    from gateway.replay.background import Indexing
    from gateway.replay.paced import PacedSource, ReadOnlyEngine, ReplayControl, Replaying
    from gateway.service import Gateway

    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s"
    )
    log_dir = args.data_dir / "log" if (args.data_dir / "log").is_dir() else args.data_dir
    try:
        config = recorded_config(log_dir)
        control = ReplayControl(args.speed, paused=args.paused)
        source = PacedSource(log_dir, control, args.from_seq)
        indexing = Indexing(log_dir, args.snapshot_every)  # the seek index, in a child
    except (logmod.LogError, configmod.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        control.indexing = indexing.view
        gw = Gateway(config, ReadOnlyEngine(), source)
        if args.from_seq <= 1:
            gw.caught_up.set()  # nothing to fast-forward: serve from the first record
        trio.run(_serve, gw, args.host, args.port, Replaying(control, log_dir))
    finally:
        indexing.stop()
    return 0
