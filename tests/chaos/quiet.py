"""A real engine without its clock and a real gateway: only what a test sends grows the log.

The phase is set through the admin API, so the log holds the test's own records and the
session's start, nothing else: its growth is the attacker's doing, byte for byte.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine import config as configmod
from engine import log as logmod
from engine.core.exchange import Exchange
from engine.ports import free_port
from engine.records import AnyRecord, StartSession
from tests.procs import Proc

TOKEN = "chaos-organiser-token"
BASE_CONFIG = f"""
[admin]
token = "{TOKEN}"
[house]
enabled = false
[retail]
enabled = false
"""


@dataclass
class Quiet:
    session: Path
    url: str
    gateway: Proc
    urls: list[str]  # every gateway's, the first is ``url``

    def admin(self, path: str) -> httpx.Response:
        return httpx.post(f"{self.url}/admin/{path}", headers={"X-Admin-Token": TOKEN}, timeout=30)

    def register(self, name: str, role: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/game/teams/register", json={"team_name": name, "role": role}, timeout=30
        )

    def team(self, name: str, role: str) -> dict[str, str]:
        r = self.register(name, role)
        assert r.status_code == 200, r.text
        data: dict[str, str] = r.json()["data"]
        return data

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=30)

    def fair(self, instrument_id: str) -> float:
        """The core's fair value now: without ticks, the session start's, which the
        gateway never shows (it learns fair values from ticks); the same core built from
        the log's first record has it."""
        start = self.records()[0]
        assert isinstance(start, StartSession)
        core = Exchange(configmod.from_json(start.config), start.seed, start.session_id)
        return core.fair[instrument_id] / 100

    def log_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.session / "log").iterdir())

    def records(self, after: int = 0) -> list[Any]:
        out: list[AnyRecord] = []
        with logmod.open_reader(self.session / "log") as reader:
            out += reader.read(after + 1)
        return out

    def head(self) -> int:
        records = self.records()
        return records[-1].seq if records else 0


@contextlib.contextmanager
def quiet_cluster(tmp: Path, extra_config: str = "", gateways: int = 1) -> Iterator[Quiet]:
    config = tmp / "quiet.toml"
    config.write_text(BASE_CONFIG + extra_config)
    session = tmp / "session"
    procs: list[Proc] = []
    urls: list[str] = []
    try:
        engine = Proc.tradepit(
            "engine", "--data-dir", str(session), "--config", str(config), "--no-clock",
            "--seed", "9", log=tmp / "engine.log",
        )  # fmt: skip
        procs.append(engine)
        engine.wait_for("engine listening on")
        for number in range(gateways):
            port = free_port()
            gateway = Proc.tradepit(
                "gateway", "--data-dir", str(session), "--port", str(port), "--config",
                str(config), log=tmp / f"gateway-{number}.log",
            )  # fmt: skip
            procs.append(gateway)
            gateway.wait_for("gateway on")
            urls.append(f"http://127.0.0.1:{port}")
        quiet = Quiet(session, urls[0], procs[1], urls)
        assert quiet.admin("phase/continuous").status_code == 200
        yield quiet
    finally:
        for proc in reversed(procs):
            proc.stop()
