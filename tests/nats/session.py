"""Real engine and gateway processes over NATS for the tests: a busy session's helpers."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from engine.ports import free_port
from tests.chaos.cluster import CHAOS_CONFIG, Bot
from tests.nats.conftest import TEST_KEY
from tests.procs import Proc, wait_until

SESSION = "nats-test"


@dataclass
class NatsSession:
    tmp: Path
    url: str  # NATS
    config: Path
    replicas: int = 1
    engines: list[Proc] = field(default_factory=list)
    gateways: list[Proc] = field(default_factory=list)
    #: extra arguments of every engine and remote gateway: ``--nats-creds`` and TLS files
    engine_access: list[str] = field(default_factory=list)
    gateway_access: list[str] = field(default_factory=list)

    @property
    def key_file(self) -> Path:
        """The session key, shared by every engine and remote gateway of the test."""
        path = self.tmp / "session.key"
        if not path.exists():
            path.write_text(TEST_KEY.hex() + "\n")
        return path

    def start_engine(self, data_dir: Path, *, wait: bool = True, seed: int = 3) -> Proc:
        proc = Proc.tradepit(
            "engine",
            "--data-dir",
            str(data_dir),
            "--config",
            str(self.config),
            "--seed",
            str(seed),
            "--nats",
            self.url,
            "--session",
            SESSION,
            "--nats-replicas",
            str(self.replicas),
            "--nats-key",
            str(self.key_file),
            *self.engine_access,
            log=self.tmp / f"engine-{len(self.engines)}.log",
        )
        self.engines.append(proc)
        if wait:
            proc.wait_for("engine listening on", 90)
        return proc

    def start_local_gateway(self, data_dir: Path) -> int:
        port = free_port()
        proc = Proc.tradepit(
            "gateway",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--config",
            str(self.config),
            log=self.tmp / f"gateway-{len(self.gateways)}.log",
        )
        self.gateways.append(proc)
        proc.wait_for("gateway on", 90)
        return port

    def start_remote_gateway(self) -> int:
        port = free_port()
        proc = Proc.tradepit(
            "gateway",
            "--nats",
            self.url,
            "--session",
            SESSION,
            "--port",
            str(port),
            "--config",
            str(self.config),
            "--nats-key",
            str(self.key_file),
            *self.gateway_access,
            log=self.tmp / f"gateway-{len(self.gateways)}.log",
        )
        self.gateways.append(proc)
        proc.wait_for("gateway on", 90)
        return port

    def stop(self) -> None:
        for proc in [*self.gateways, *self.engines]:
            proc.stop()


@contextlib.contextmanager
def nats_session(
    tmp: Path,
    url: str,
    replicas: int = 1,
    *,
    engine_access: list[str] | None = None,
    gateway_access: list[str] | None = None,
) -> Iterator[NatsSession]:
    config = tmp / "chaos.toml"
    config.write_text(CHAOS_CONFIG)
    session = NatsSession(
        tmp, url, config, replicas, engine_access=engine_access or [],
        gateway_access=gateway_access or [],
    )  # fmt: skip
    try:
        yield session
    finally:
        session.stop()


def phase(port: int) -> str:
    answer: str = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()["data"]["phase"]
    return answer


def register(port: int, count: int, prefix: str = "bot") -> list[Bot]:
    wait_until(lambda: phase(port) == "continuous", 60, "continuous trading")
    bots = []
    for i in range(count):
        r = httpx.post(
            f"http://127.0.0.1:{port}/game/teams/register",
            json={"team_name": f"{prefix}-{i}", "role": "market_maker"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        bots.append(Bot(f"{prefix}-{i}", r.json()["data"]["api_key"]))
    return bots


def record_stream(key: str, port: int, out: list[dict[str, object]], stop: threading.Event) -> None:
    """Follow a team's stream from seq 1 on one gateway until told to stop; a closed
    connection (a slow consumer on a loaded machine) resumes by ``last_seq``, as a bot does."""
    while not stop.is_set():
        try:
            after = last_seq(out)
            with connect(f"ws://127.0.0.1:{port}/ws?api_key={key}&last_seq={after}") as ws:
                while not stop.is_set():
                    try:
                        raw = ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    out.append(json.loads(raw))
        except (ConnectionClosed, OSError):
            stop.wait(0.2)


def gapless(messages: list[dict[str, object]]) -> bool:
    seqs = [m["seq"] for m in messages if "seq" in m]
    return seqs == list(range(1, len(seqs) + 1))


def last_seq(stream: list[dict[str, object]]) -> int:
    seqs = [m["seq"] for m in stream if isinstance(m.get("seq"), int)]
    return int(seqs[-1]) if seqs else 0  # type: ignore[call-overload]


def head(port: int, key: str) -> int:
    r = httpx.get(
        f"http://127.0.0.1:{port}/events",
        params={"after_seq": 0, "limit": 1},
        headers={"X-API-Key": key},
        timeout=10,
    )
    body = r.json()
    return int(body["data"]["last_seq"])
