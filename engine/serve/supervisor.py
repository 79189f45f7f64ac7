"""``tradepit serve``: one engine process and N gateway processes on one session directory.

Sessions live in ``DATA_DIR/<session>``. A directory that already holds a log is
resumed, never overwritten: pass it as ``--data-dir``, or name it with ``--session``,
or take the latest with ``--resume``. With none of these, the latest session under
``DATA_DIR`` is resumed unless it is marked ``ENDED`` (a crash, a SIGKILL, a power cut
never mark it), so running the same command again keeps the competition and every
team's key; after an ended session, or with ``--new``, a new session directory is made.

``serve`` is a process manager, not a cascade: a child that dies unexpectedly (exit
status or signal logged) is restarted with a backoff while it keeps dying, and the
others keep serving (``Supervisor``; its state is in ``supervisor.json`` and in every
gateway's ``/health``). Only Ctrl-C (or SIGTERM) stops everything: the gateways, then
the engine, each cleanly, and then the session is marked ``ENDED``. The closing bell
marks it too: an engine that exits with ``lifeline.DAY_ENDED_EXIT`` is not restarted.

Children die with ``serve`` even when it is killed with SIGKILL (``engine.lifeline``):
they are forked from this process's main thread (the thread ``PR_SET_PDEATHSIG`` is
tied to), never from a worker thread."""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
from functools import partial
from pathlib import Path

import trio

from engine import lifeline
from engine.log.errors import LogError
from engine.log.nats import access as nats_access
from engine.serve import gateways as gatewaysmod
from engine.serve import keeper, nats_link, status
from engine.serve.child import Child
from engine.serve.keeper import Keeper
from engine.wire import ADDR_FILE

STOP_GRACE_SECONDS = 10.0
#: How long a child may take to start (an engine recovering a long log, a gateway
#: folding it) before ``serve`` gives up on a first start, or says it is not serving yet.
START_SECONDS = 60.0
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
        "--ladder",
        type=Path,
        metavar="DIR",
        help="show this practice ladder (tradepit ladder DIR) on the dashboard, read-only",
    )
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


def run(args: argparse.Namespace) -> int:
    if args.ladder is not None and not args.ladder.is_dir():  # before a session is made
        print(f"error: the ladder {args.ladder} is not a directory", file=sys.stderr)
        return 2
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
        if args.ladder is not None:
            cmd += ["--ladder", str(args.ladder)]
        gateway_cmds.append(cmd + list(args.extra))
    try:
        return trio.run(Supervisor(session, engine_cmd, gateway_cmds, args, how).run)
    except KeyboardInterrupt:
        return 130
    finally:
        if nats is not None and nats.stop is not None:
            nats.stop()


class Supervisor:
    """Keeps one engine and its gateways running until the organiser stops them.

    A child that dies unexpectedly is restarted by its ``Keeper`` (``engine.serve.keeper``,
    with the pauses of ``engine.serve.policy``); the others are not touched, so a gateway's
    crash costs only its own connections and an engine's crash only the writes made while
    it recovers from its log. Only the organiser's SIGINT or SIGTERM stops everything (and
    marks the session ENDED); an engine that exits with ``lifeline.DAY_ENDED_EXIT`` (the
    closing bell) marks it ENDED and is not restarted, while the gateways keep serving.
    Every change of state is written to ``supervisor.json`` (``engine.serve.status``).
    """

    def __init__(
        self,
        session: Path,
        engine_cmd: list[str],
        gateway_cmds: list[list[str]],
        args: argparse.Namespace,
        how: str,
    ) -> None:
        self.session = session
        self.args = args
        self.how = how
        self.layout = gatewaysmod.layout(args)
        self.engine_cmd = engine_cmd
        self.engine = Keeper(
            "engine",
            self._start_engine,
            ready=self._engine_ready,
            final=(lifeline.DAY_ENDED_EXIT,),
            on_change=self.publish,
        )
        self.gateways = [
            Keeper(
                self.layout.gateway_id(i),
                partial(Child, cmd),
                ready=partial(self._gateway_ready, i),
                on_change=self.publish,
            )
            for i, cmd in enumerate(gateway_cmds)
        ]
        self.day_ended = False
        self._stop_asked = trio.Event()  # bound to no run until waited on
        self._why = "stop"

    @property
    def keepers(self) -> list[Keeper[Child]]:
        return [self.engine, *self.gateways]

    def _start_engine(self) -> Child:
        # a restarted engine writes its new address: until then gateways find none and
        # answer writes SERVICE_UNAVAILABLE, instead of knocking at a dead port
        (self.session / ADDR_FILE).unlink(missing_ok=True)
        return Child(self.engine_cmd)

    async def _engine_ready(self, engine: Child) -> bool:
        addr = self.session / ADDR_FILE
        with trio.move_on_after(START_SECONDS):
            while not addr.exists() and engine.poll() is None:
                await trio.sleep(0.05)
        return addr.exists() and engine.poll() is None

    async def _gateway_ready(self, index: int, gateway: Child) -> bool:
        return await _wait_listening(self.args.host, self.layout.port_of(index), gateway)

    async def start(self) -> str | None:
        """Start the engine, then every gateway; why not, if one of them did not start."""
        self.publish()
        engine = self.engine.start()
        if not await self._engine_ready(engine):
            if engine.poll() != lifeline.DAY_ENDED_EXIT:
                return "the engine did not start (see the lines above)"
            # resumed after the closing bell: no trading, but the standings are served
            self.engine.finished(lifeline.DAY_ENDED_EXIT)
            self.end_day("the engine says the day is over (closing bell)")
        for index, gw in enumerate(self.gateways):
            if not await self._gateway_ready(index, gw.start()):
                return f"gateway {gw.name} did not start"
        return None

    async def run(self) -> int:
        addr = self.session / ADDR_FILE
        addr.unlink(missing_ok=True)
        (self.session / ENDED_FILE).unlink(missing_ok=True)  # until the organiser ends it
        failed = await self.start()
        if failed is not None:
            await _stop([k.proc for k in self.gateways if k.proc is not None])
            await _stop([self.engine.proc] if self.engine.proc is not None else [])
            print(f"error: {failed}", file=sys.stderr)
            return 2
        _banner(self.session, self.how, self.args)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._signals)
            if self.engine.state != keeper.ENDED:
                nursery.start_soon(self._keep_engine)
            for gw in self.gateways:
                assert gw.proc is not None
                nursery.start_soon(gw.run, gw.proc)
            await self._stop_asked.wait()
            nursery.cancel_scope.cancel()  # no restarts from here on
        return await self.stop(self._why)

    def ask_to_stop(self, why: str) -> None:
        """The organiser's stop (SIGINT, SIGTERM): ``run`` stops everything, writes ENDED."""
        self._why = why
        self._stop_asked.set()

    async def _signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                self.ask_to_stop(signal.Signals(signum).name)
                return

    async def _keep_engine(self) -> None:
        assert self.engine.proc is not None
        await self.engine.run(self.engine.proc)  # returns only for DAY_ENDED_EXIT
        (self.session / ADDR_FILE).unlink(missing_ok=True)
        self.end_day("the engine says the day is over (closing bell)")

    def end_day(self, why: str) -> None:
        """Mark the session ENDED: the next plain ``serve`` starts a new one."""
        if not self.day_ended:
            stamp = datetime.datetime.now().isoformat(timespec="seconds")
            (self.session / ENDED_FILE).write_text(f"{stamp} {why}\n")
            print(f"tradepit: the session is ENDED: {why}", file=sys.stderr, flush=True)
        self.day_ended = True
        self.publish()

    async def stop(self, why: str) -> int:
        """The organiser's stop: gateways first, then the engine, then ENDED."""
        print(f"\ntradepit: {why}: stopping gateways, then the engine", file=sys.stderr)
        gateways = [k.proc for k in self.gateways if k.proc is not None and k.proc.poll() is None]
        engines = [p for p in [self.engine.proc] if p is not None and p.poll() is None]
        await _stop(gateways)
        await _stop(engines)
        for k in self.keepers:
            if k.state != keeper.ENDED:
                k.state = keeper.STOPPED
        codes = [p.returncode for p in (*gateways, *engines)]
        clean = all(c in CLEAN_EXITS for c in codes)
        if engines and engines[0].returncode not in CLEAN_EXITS:
            print("tradepit: the engine did not stop cleanly; its log is recovered when the"
                  " session is resumed", file=sys.stderr)  # fmt: skip
        self.end_day(f"stopped by the organiser ({why})")
        print(f"tradepit: stopped; the log is in {self.session / 'log'}", file=sys.stderr)
        return 0 if clean else 1

    def publish(self) -> None:
        """Write what every child is doing for the gateways' ``/health``."""
        died = [k for k in self.keepers if k.last_exit is not None]
        last = max(died, key=lambda k: k.died_at, default=None)
        status.write(
            self.session,
            {
                "pid": os.getpid(),
                "updated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "restarts": sum(k.restarts for k in self.keepers),
                "backoff": any(k.state == keeper.BACKOFF for k in self.keepers),
                "last_exit": f"{last.name}: {last.last_exit}" if last is not None else None,
                "day_ended": self.day_ended,
                "children": {k.name: k.status() for k in self.keepers},
            },
        )


async def _wait_listening(host: str, port: int, proc: Child) -> bool:
    with trio.move_on_after(START_SECONDS):
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
    shown = getattr(args, "ladder", None) is not None  # (the tests' stand-ins have no flag)
    ladder = f"  ladder:           {url}/dashboard/ladder\n" if shown else ""
    print(
        f"""
tradepit is running: {url}{extra}
  session ({how}): {session}
  log:              {session / "log"}
  register a team:  curl -s -X POST {url}/game/teams/register \\
                      -H 'Content-Type: application/json' \\
                      -d '{{"team_name": "my-bot", "role": "market_maker"}}'
  stream:           ws://{url.split("://", 1)[1]}/ws?api_key=YOUR_KEY
{ladder}{remote}  Ctrl-C stops it; `./scripts/serve --data-dir {session}` resumes it.
  After a crash the same command resumes it; `--new` starts a new session.
""",
        flush=True,
    )
