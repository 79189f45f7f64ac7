"""A real gateway on port 0 over a MemoryLog, with the real core behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import trio

from engine.config import Config
from gateway.main import serve_app
from gateway.service import Gateway
from gateway.upstream.source import MemoryLog
from tests.gateway.builders import Log
from tests.gateway.core_engine import CoreEngine, quiet_config


@dataclass
class Server:
    port: int
    gw: Gateway
    engine: CoreEngine
    log: MemoryLog
    http: httpx.AsyncClient

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def register(self, name: str, role: str = "hedge_fund") -> dict[str, Any]:
        r = await self.http.post("/game/teams/register", json={"team_name": name, "role": role})
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()["data"]
        return data


def gateway_config(**gateway: Any) -> Config:
    """The tests' config (``quiet_config``) with these ``[gateway]`` settings."""
    return quiet_config(gateway=gateway) if gateway else quiet_config()


async def start(nursery: trio.Nursery, config: Config) -> AsyncIterator[Server]:
    """A gateway on ``config`` over a log started with it, the core running it too."""
    seed = Log()
    seed.start(config)
    log = MemoryLog(seed.records)
    engine = CoreEngine(log, config)
    gw = Gateway(config, engine, log)
    port = await nursery.start(serve_app, gw, "127.0.0.1", 0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        yield Server(port, gw, engine, log, http)


@pytest.fixture
async def server(nursery: trio.Nursery) -> AsyncIterator[Server]:
    with trio.fail_after(30):
        async for s in start(nursery, gateway_config()):
            yield s
