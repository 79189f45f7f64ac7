"""``tradepit serve``: one engine process and N gateway processes on one session directory.

Sessions live in ``DATA_DIR/<session>``. A directory that already holds a log is
resumed, never overwritten: pass it as ``--data-dir``, or name it with ``--session``,
or take the latest with ``--resume``. With none of these, the latest session under
``DATA_DIR`` is resumed when it did not end cleanly (a crash, a SIGKILL, a power cut),
so running the same command again keeps the competition and every team's key; after a
clean stop, or with ``--new``, a new session directory is made.

Ctrl-C (or SIGTERM) stops the gateways, then the engine, each cleanly, and then marks
the session ``ENDED``. Children die with ``serve`` even when it is killed with SIGKILL
(``engine.lifeline``): they are forked from this process's main thread (the thread
``PR_SET_PDEATHSIG`` is tied to), never from a worker thread.

``--nats URL`` also publishes the log to that NATS JetStream (docs/nats.md); a bare
``--nats`` starts a local single-node JetStream in the session directory for a demo.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import trio

from engine import lifeline
from engine.log.errors import LogError
from engine.log.nats import access as nats_access
from engine.serve import gateways as gatewaysmod
from engine.serve import nats_link
from engine.wire import ADDR_FILE

STOP_GRACE_SECONDS = 10.0
#: Written into a session directory once a run of it stopped cleanly.
ENDED_FILE = "ENDED"
CLEAN_EXITS = (0, -signal.SIGTERM)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000, help="the gateways' port (8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("data"), help="sessions root, or one session"
    )
    parser.add_argument("--session", help="session name under --data-dir (resumed if it exists)")
    parser.add_argument("--resume", action="store_true", help="resume the latest session")
    parser.add_argument(
        "--new",
        action="store_true",
        help="a new session even if the latest one did not end cleanly",
    )
    parser.add_argument("--config", type=Path, help="TOML config (new sessions)")
    parser.add_argument("--seed", type=int, help="session seed (new sessions)")
    gatewaysmod.add_arguments(parser)
    parser.add_argument("--no-house", action="store_true", help="no house liquidity provider")
    parser.add_argument("--no-retail", action="store_true", help="no simulated retail flow")
    parser.add_argument(
        "--nats",
        nargs="?",
        const="local",
        metavar="URL",
        help="publish the log to NATS JetStream; alone: start a local one for a demo",
    )
    nats_access.add_arguments(parser)


def is_session(path: Path) -> bool:
    return (path / "log").is_dir()


def ended_cleanly(session: Path) -> bool:
    return (session / ENDED_FILE).exists()


def _last_active(session: Path) -> float:
    committed = session / "log" / "COMMITTED"
    times = [session.stat().st_mtime]
    if committed.exists():
        times.append(committed.stat().st_mtime)
    return max(times)


def latest_session(root: Path) -> Path | None:
    sessions = [p for p in root.glob("*") if is_session(p)] if root.is_dir() else []
    return max(sessions, key=_last_active) if sessions else None


def session_dir(args: argparse.Namespace) -> tuple[Path, str]:
    """The session directory to use, and how: ``new``, or why it is resumed."""
    root: Path = args.data_dir
    if is_session(root):
        if args.new:
            raise SystemExit(f"error: {root} is a session; --new needs the sessions' root")
        return root, "resumed"
    if args.session:
        path = root / args.session
        if is_session(path):
            if args.new:
                raise SystemExit(f"error: session {path} exists; --new makes a new one")
            return path, "resumed"
        return path, "new"
    latest = latest_session(root)
    if args.resume:
        if latest is None:
            raise SystemExit(f"error: no session to resume under {root}")
        return latest, "resumed"
    if not args.new and latest is not None and not ended_cleanly(latest):
        return latest, "resumed: its last run did not end cleanly (--new starts a fresh one)"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = root / f"session-{stamp}"
    n = 1
    while path.exists():  # two sessions within one second
        n += 1
        path = root / f"session-{stamp}-{n}"
    return path, "new"


class Child:
    """A child process forked from the calling (main) thread, awaitable from trio.

    ``trio.lowlevel.open_process`` forks in a worker thread, and that thread's exit would
    fire the child's parent-death signal some seconds later.
    """

    def __init__(self, cmd: list[str]) -> None:
        env = {**os.environ, lifeline.SUPERVISOR_ENV: str(os.getpid())}
        # a session of their own: the terminal's Ctrl-C is ours to turn into an ordered stop
        self.popen = subprocess.Popen(cmd, env=env, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def poll(self) -> int | None:
        return self.popen.poll()

    def send_signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        if self.popen.poll() is None and hasattr(os, "pidfd_open"):
            try:
                fd = os.pidfd_open(self.popen.pid)
            except OSError:
                fd = -1  # already reaped
            if fd >= 0:
                try:
                    await trio.lowlevel.wait_readable(fd)
                finally:
                    os.close(fd)
        while self.popen.poll() is None:  # no pidfd here, or it raced: poll
            await trio.sleep(0.05)
        return self.popen.returncode


def run(args: argparse.Namespace) -> int:
    session, how = session_dir(args)
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
    layout = gatewaysmod.layout(args)
    busy = [p for p in layout.ports() if gatewaysmod.port_in_use(args.host, p)]
    if busy:
        print(f"error: {args.host}:{busy[0]} is in use (another tradepit?)", file=sys.stderr)
        return 2
    nats = None
    if args.nats:
        try:
            nats = nats_link.link(args, session)
        except LogError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        args.nats_link = nats
        engine_cmd += nats.engine_args
    gateway_cmds = []
    for i in range(args.gateways):
        cmd = [*py, "gateway", "--data-dir", str(session), *layout.arguments(i)]
        if args.config:
            cmd += ["--config", str(args.config)]
        gateway_cmds.append(cmd + list(args.extra))
    try:
        return trio.run(_supervise, session, how, engine_cmd, gateway_cmds, args)
    except KeyboardInterrupt:
        return 130
    finally:
        if nats is not None and nats.stop is not None:
            nats.stop()


async def _supervise(
    session: Path,
    how: str,
    engine_cmd: list[str],
    gateway_cmds: list[list[str]],
    args: argparse.Namespace,
) -> int:
    addr = session / ADDR_FILE
    addr.unlink(missing_ok=True)
    (session / ENDED_FILE).unlink(missing_ok=True)  # until this run ends cleanly
    engine = Child(engine_cmd)
    with trio.move_on_after(60):
        while not addr.exists() and engine.poll() is None:
            await trio.sleep(0.05)
    if engine.poll() is not None or not addr.exists():
        await _stop([engine])
        print("error: the engine did not start (see the lines above)", file=sys.stderr)
        return 2
    gateways = [Child(cmd) for cmd in gateway_cmds]
    layout = gatewaysmod.layout(args)
    for i in range(len(gateways)):
        if not await _wait_listening(args.host, layout.port_of(i), gateways[i]):
            await _stop([*gateways, engine])
            print(f"error: gateway {layout.gateway_id(i)} did not start", file=sys.stderr)
            return 2
    _banner(session, how, args)
    children = [*gateways, engine]
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            exited = trio.Event()

            async def watch(proc: Child) -> None:
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
    if engine.returncode in CLEAN_EXITS:  # the log was closed: the next serve starts anew
        (session / ENDED_FILE).write_text(f"{datetime.datetime.now().isoformat()}\n")
    print(f"tradepit: stopped; the log is in {session / 'log'}", file=sys.stderr)
    return 0 if all(c in CLEAN_EXITS for c in codes) else 1


async def _wait_listening(host: str, port: int, proc: Child) -> bool:
    with trio.move_on_after(60):
        while proc.poll() is None:
            # on a shared port a connection may reach another gateway: ask the kernel
            known = gatewaysmod.listening(proc.pid, port)
            if known is not None:
                if known:
                    return True
                await trio.sleep(0.05)
                continue
            try:
                stream = await trio.open_tcp_stream(host, port)
            except OSError:
                await trio.sleep(0.05)
                continue
            await stream.aclose()
            return True
    return False


async def _stop(procs: list[Child]) -> None:
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


def _banner(session: Path, how: str, args: argparse.Namespace) -> None:
    url = f"http://{'localhost' if args.host == '127.0.0.1' else args.host}:{args.port}"
    extra = gatewaysmod.layout(args).describe(url.rsplit(":", 1)[0])
    nats = getattr(args, "nats_link", None)
    remote = nats_link.banner(nats, session) if nats else ""
    print(
        f"""
tradepit is running: {url}{extra}
  session ({how}): {session}
  log:              {session / "log"}
  register a team:  curl -s -X POST {url}/game/teams/register \\
                      -H 'Content-Type: application/json' \\
                      -d '{{"team_name": "my-bot", "role": "market_maker"}}'
  stream:           ws://{url.split("://", 1)[1]}/ws?api_key=YOUR_KEY
{remote}  Ctrl-C stops it; `./scripts/serve --data-dir {session}` resumes it.
  After a crash the same command resumes it; `--new` starts a new session.
""",
        flush=True,
    )
