"""``tradepit gateway``: one gateway process over a session's log.

``serve_gateway`` is the embeddable form: it follows the log from seq 1, keeps the
projection, serves REST and ``/ws`` on one port with hypercorn's trio worker, and
reports the bound port through ``task_status`` once it has caught up with the log.
With ``--ladder DIR`` it also shows a practice ladder's
files, read by the ladder's own code (``gateway.offline.ladder.view``), handed to the
web as a ``LadderFiles``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from functools import partial
from pathlib import Path

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from engine import config as configmod
from engine import heap, lifeline
from engine.log.nats import access as nats_access
from engine.log.nats.access import NatsAccess
from engine.serve import status
from gateway.offline.ladder.view import Ladder
from gateway.replay.paced import Replaying
from gateway.service import CommandPort, Gateway
from gateway.upstream.engine_client import EngineClient
from gateway.upstream.source import LogSource, RecordSource
from gateway.web import binding, hypercorn_tuning
from gateway.web.app import App
from gateway.web.ladder import LadderFiles

log = logging.getLogger("tradepit.gateway")

#: How long a starting gateway may spend replaying the log before it serves anyway.
CATCH_UP_SECONDS = 60.0


hypercorn_tuning.install()


def hypercorn_config(
    host: str,
    port: int,
    guard: hypercorn_tuning.WriteGuard | None = None,
    *,
    reuse_port: bool = False,
    max_body_bytes: int = 64 * 1024,
) -> HypercornConfig:
    hc = HypercornConfig()
    hc.bind = [binding.hypercorn_bind(binding.bind(host, port, reuse_port=reuse_port))]
    hc.accesslog = None
    hc.loglevel = "WARNING"
    hc.graceful_timeout = 1.0  # SIGTERM to exit within 2 s, whatever the clients do
    # the team sockets' limit; every other socket's is CLIENT_MESSAGE_BYTES (FramingWSStream)
    hc.websocket_max_message_size = hypercorn_tuning.team_message_bytes(max_body_bytes)
    setattr(hc, hypercorn_tuning.GUARD_ATTRIBUTE, guard)
    return hc


async def serve_gateway(
    config: configmod.Config,
    data_dir: Path,
    port: int,
    *,
    host: str | None = None,
    engine: CommandPort | None = None,
    source: RecordSource | None = None,
    gateway_id: str | None = None,
    reuse_port: bool = False,
    ladder: LadderFiles | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve one gateway until cancelled; ``task_status.started(bound_port)``.

    ``engine`` defaults to an ``EngineClient`` on ``data_dir`` and ``source`` to the
    file log in ``data_dir/log``; tests pass in-memory ones. ``reuse_port`` shares the
    port with other gateways that set it too (``gateway.web.binding``).
    """
    data_dir = Path(data_dir)
    async with trio.open_nursery() as nursery:
        if engine is None:
            client = EngineClient(data_dir)
            await nursery.start(client.run)
            engine = client
        gw = Gateway(
            config,
            engine,
            source or LogSource(data_dir / "log", follow_poll=config.gateway.follow_poll_seconds),
            gateway_id=gateway_id,
        )
        gw.supervisor = status.StatusFile(data_dir).read  # serve's state, for /health
        bound = await nursery.start(
            partial(serve_app, reuse_port=reuse_port, ladder=ladder),
            gw,
            host or config.gateway.host,
            port,
        )
        task_status.started(bound)


async def serve_app(
    gw: Gateway,
    host: str,
    port: int,
    *,
    reuse_port: bool = False,
    replay: Replaying | None = None,
    ladder: LadderFiles | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Follow the log into ``gw``; once caught up, serve it on ``host:port``.

    Binding only after catching up matters most on a shared port: the kernel hands
    connections to a gateway as soon as it listens.
    """
    guard = hypercorn_tuning.WriteGuard(gw.settings.slow_client_seconds)
    gw.aborted_writes = lambda: guard.aborted
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_stop_writes_when_cancelled, guard)
        await nursery.start(gw.follow)
        with trio.move_on_after(CATCH_UP_SECONDS):
            await gw.caught_up.wait()
        hc = hypercorn_config(
            host, port, guard, reuse_port=reuse_port, max_body_bytes=gw.settings.max_body_bytes
        )
        binds: list[str] = await nursery.start(serve, App(gw, replay, ladder), hc)
        log.info("gateway on %s (%s)", binds[0], gw.gateway_id)
        task_status.started(int(binds[0].rsplit(":", 1)[1]))


async def _stop_writes_when_cancelled(guard: hypercorn_tuning.WriteGuard) -> None:
    # hypercorn shields its socket writes: when the gateway is cancelled (SIGTERM), a
    # write to a client that stopped reading would hold the process up forever
    try:
        await trio.sleep_forever()
    finally:
        guard.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="the session directory (or --nats)")
    parser.add_argument("--port", type=int, default=None, help="HTTP and WebSocket port")
    parser.add_argument("--host", default=None, help="address to serve on (127.0.0.1)")
    parser.add_argument("--config", type=Path, help="TOML config (the [gateway] section)")
    parser.add_argument(
        "--nats", metavar="URL", help="follow the session's JetStream stream instead of a data dir"
    )
    parser.add_argument("--session", help="the session's name on NATS (with --nats)")
    nats_access.add_arguments(parser)
    parser.add_argument(
        "--gateway-id", help="this gateway's name in /health and X-Gateway-Id (gw-PID)"
    )
    parser.add_argument(
        "--reuse-port",
        action="store_true",
        help="share the port with other gateways (SO_REUSEPORT): the kernel spreads connections",
    )
    parser.add_argument(
        "--ladder",
        type=Path,
        metavar="DIR",
        help="show this practice ladder (tradepit ladder DIR) at /dashboard/ladder, read-only",
    )


async def serve_remote_gateway(
    config: configmod.Config,
    url: str,
    session: str,
    port: int,
    *,
    key: bytes,
    access: NatsAccess | None = None,
    host: str | None = None,
    gateway_id: str | None = None,
    reuse_port: bool = False,
    ladder: LadderFiles | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """A gateway with no data dir: the stream for records, NATS for commands.

    ``key`` is the session key (``--nats-key``): it checks every stream message and
    proves every command; ``access`` holds the NATS credentials and TLS files."""
    from engine.log.nats.client import NatsLog
    from engine.log.nats.relay import Relay
    from gateway.upstream.remote import NatsEngineClient, StreamSource

    relay = await Relay.spawn(url, session, key, access)  # first: its start-up overlaps ours
    try:
        nats_log = await trio.to_thread.run_sync(
            lambda: NatsLog(url, session, key=key, access=access, client_name="tradepit-gateway")
        )
    except BaseException:
        await relay.aclose()
        raise
    source = StreamSource(nats_log, relay)
    try:
        gw = Gateway(config, NatsEngineClient(nats_log), source, gateway_id=gateway_id)
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(
                partial(serve_app, reuse_port=reuse_port, ladder=ladder),
                gw,
                host or config.gateway.host,
                port,
            )
            task_status.started(bound)
    finally:
        await source.aclose()
        nats_log.close()


def ladder_of(args: argparse.Namespace) -> LadderFiles | None:
    """``--ladder DIR``; ``ValueError`` if DIR is no directory (a typo should stop the
    start, not show an empty ladder). A flag, not a config key: the config is recorded in
    the session's log, and which files a gateway shows beside it is no part of the game."""
    given = args.ladder
    if given is None:
        return None
    root = Path(given)
    if not root.is_dir():
        raise ValueError(f"the ladder {root} is not a directory")
    return Ladder(root)


async def _run(
    config: configmod.Config, args: argparse.Namespace, port: int, ladder: LadderFiles | None
) -> None:
    host: str | None = args.host
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lifeline.watch_supervisor, lifeline.supervisor_pid())
            ident, reuse = args.gateway_id, args.reuse_port
            if args.nats:
                key = nats_access.read_key(args.nats_key)
                if key is None:
                    raise nats_access.NatsAccessError(
                        f"--nats needs the session key: --nats-key FILE or {nats_access.KEY_ENV} "
                        "(the engine's DATA_DIR/nats.key)"
                    )
                await nursery.start(
                    partial(
                        serve_remote_gateway, config, nats_access.check_url(args.nats),
                        args.session, port, key=key, access=NatsAccess.from_args(args),
                        host=host, gateway_id=ident, reuse_port=reuse, ladder=ladder,
                    )
                )  # fmt: skip
            else:
                await nursery.start(
                    partial(
                        serve_gateway, config, args.data_dir, port,
                        host=host, gateway_id=ident, reuse_port=reuse, ladder=ladder,
                    )
                )  # fmt: skip
            # caught up and listening: what exists now lives as long as the process
            heap.freeze_start_up()
            async for signum in signals:
                log.info("%s: stopping", signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break


def run(args: argparse.Namespace) -> int:
    lifeline.bind_to_supervisor()
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        config = configmod.load(args.config)
    except configmod.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.nats and not args.session:
        print("error: --nats needs --session NAME", file=sys.stderr)
        return 2
    if not args.nats and args.data_dir is None:
        print("error: give --data-dir DIR, or --nats URL --session NAME", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else config.gateway.port
    try:
        ladder = ladder_of(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        trio.run(_run, config, args, port, ladder)
    except BaseException as exc:  # a stream that is not a tradepit log, or NATS unreachable
        from engine.log.errors import LogError

        found = exc.subgroup(LogError) if isinstance(exc, BaseExceptionGroup) else exc
        if not isinstance(found, LogError | BaseExceptionGroup):
            raise
        while isinstance(found, BaseExceptionGroup):
            found = found.exceptions[0]
        print(f"error: {found}", file=sys.stderr)
        return 2
    return 0
