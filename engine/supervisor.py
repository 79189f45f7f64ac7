"""``tradepit serve``: one engine process and N gateway processes on one session directory.

Sessions live in ``DATA_DIR/<session>``. A directory that already holds a log is
resumed, never overwritten: pass it as ``--data-dir``, or name it with ``--session``,
or take the latest with ``--resume``. Otherwise a new session directory is made.
Ctrl-C (or SIGTERM) stops the gateways, then the engine, each cleanly.
"""

from __future__ import annotations

import argparse
import datetime
import signal
import sys
from pathlib import Path

import trio

from engine.wire import ADDR_FILE

STOP_GRACE_SECONDS = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000, help="first gateway port (8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("data"), help="sessions root, or one session"
    )
    parser.add_argument("--session", help="session name under --data-dir (resumed if it exists)")
    parser.add_argument("--resume", action="store_true", help="resume the latest session")
    parser.add_argument("--config", type=Path, help="TOML config (new sessions)")
    parser.add_argument("--seed", type=int, help="session seed (new sessions)")
    parser.add_argument("--gateways", type=int, default=1, help="gateways on consecutive ports")
    parser.add_argument("--no-house", action="store_true", help="no house liquidity provider")
    parser.add_argument("--no-retail", action="store_true", help="no simulated retail flow")


def is_session(path: Path) -> bool:
    return (path / "log").is_dir()


def session_dir(args: argparse.Namespace) -> tuple[Path, bool]:
    """The session directory to use, and whether it is resumed."""
    root: Path = args.data_dir
    if is_session(root):
        return root, True
    if args.session:
        path = root / args.session
        return path, is_session(path)
    if args.resume:
        sessions = sorted(
            (p for p in root.glob("*") if is_session(p)), key=lambda p: p.stat().st_mtime
        )
        if not sessions:
            raise SystemExit(f"error: no session to resume under {root}")
        return sessions[-1], True
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / f"session-{stamp}", False


def run(args: argparse.Namespace) -> int:
    session, resumed = session_dir(args)
    session.mkdir(parents=True, exist_ok=True)
    py = [sys.executable, "-m", "engine.cli"]
    engine_cmd = [*py, "engine", "--data-dir", str(session)]
    if args.config:
        engine_cmd += ["--config", str(args.config)]
    if args.seed is not None:
        engine_cmd += ["--seed", str(args.seed)]
    if args.no_house:
        engine_cmd.append("--no-house")
    if args.no_retail:
        engine_cmd.append("--no-retail")
    gateway_cmds = []
    for i in range(args.gateways):
        cmd = [
            *py,
            "gateway",
            "--data-dir",
            str(session),
            "--host",
            args.host,
            "--port",
            str(args.port + i),
        ]
        if args.config:
            cmd += ["--config", str(args.config)]
        gateway_cmds.append(cmd + list(args.extra))
    try:
        return trio.run(_supervise, session, resumed, engine_cmd, gateway_cmds, args)
    except KeyboardInterrupt:
        return 130


async def _supervise(
    session: Path,
    resumed: bool,
    engine_cmd: list[str],
    gateway_cmds: list[list[str]],
    args: argparse.Namespace,
) -> int:
    addr = session / ADDR_FILE
    addr.unlink(missing_ok=True)
    # children ignore the terminal's Ctrl-C: we stop them in order ourselves
    engine = await trio.lowlevel.open_process(engine_cmd, start_new_session=True)
    with trio.move_on_after(60):
        while not addr.exists() and engine.poll() is None:
            await trio.sleep(0.05)
    if engine.poll() is not None or not addr.exists():
        await _stop([engine])
        print("error: the engine did not start (see the lines above)", file=sys.stderr)
        return 2
    gateways = [
        await trio.lowlevel.open_process(cmd, start_new_session=True) for cmd in gateway_cmds
    ]
    for i in range(len(gateways)):
        if not await _wait_listening(args.host, args.port + i, gateways[i]):
            await _stop([*gateways, engine])
            print(f"error: gateway on port {args.port + i} did not start", file=sys.stderr)
            return 2
    _banner(session, resumed, args)
    children = [*gateways, engine]
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            exited = trio.Event()

            async def watch(proc: trio.Process) -> None:
                await proc.wait()
                exited.set()

            for proc in children:
                nursery.start_soon(watch, proc)

            async def on_signal() -> None:
                async for _ in signals:
                    exited.set()
                    return

            nursery.start_soon(on_signal)
            await exited.wait()
            nursery.cancel_scope.cancel()
    print("\ntradepit: stopping gateways, then the engine", file=sys.stderr)
    await _stop(gateways)
    await _stop([engine])
    codes = [p.returncode for p in children]
    print(f"tradepit: stopped; the log is in {session / 'log'}", file=sys.stderr)
    return 0 if all(c in (0, -signal.SIGTERM) for c in codes) else 1


async def _wait_listening(host: str, port: int, proc: trio.Process) -> bool:
    with trio.move_on_after(60):
        while proc.poll() is None:
            try:
                stream = await trio.open_tcp_stream(host, port)
            except OSError:
                await trio.sleep(0.05)
                continue
            await stream.aclose()
            return True
    return False


async def _stop(procs: list[trio.Process]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    with trio.move_on_after(STOP_GRACE_SECONDS):
        for proc in procs:
            await proc.wait()
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            await proc.wait()


def _banner(session: Path, resumed: bool, args: argparse.Namespace) -> None:
    url = f"http://{'localhost' if args.host == '127.0.0.1' else args.host}:{args.port}"
    extra = "".join(f", {url.rsplit(':', 1)[0]}:{args.port + i}" for i in range(1, args.gateways))
    what = "resumed" if resumed else "new"
    print(
        f"""
tradepit is running: {url}{extra}
  session ({what}): {session}
  log:              {session / "log"}
  register a team:  curl -s -X POST {url}/game/teams/register \\
                      -H 'Content-Type: application/json' \\
                      -d '{{"team_name": "my-bot", "role": "market_maker"}}'
  stream:           ws://{url.split("://", 1)[1]}/ws?api_key=YOUR_KEY
  Ctrl-C stops it; `./scripts/serve --data-dir {session}` resumes it.
""",
        flush=True,
    )
