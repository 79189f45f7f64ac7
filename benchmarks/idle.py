"""``./scripts/bench idle``: gateway memory with 1000 idle WebSocket clients.

Starts a real engine and gateway, registers 50 teams, and connects 1000 clients (20 per
team; the per-team cap is raised for this). "Idle" clients send nothing but read
their stream, as a bot waiting for its next tick does. The gateway's resident memory
is read from /proc before, with all clients connected for a few ticks, and after they
leave.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from benchmarks._support import free_port, wait_http

CLIENTS = 1000
TEAMS = 50
CONFIG = """
[schedule]
tick_seconds = 0.5
pre_open_ticks = 1
auction_ticks = 1
[gateway]
ws_max_connections_per_team = 50
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def hold(urls: list[str], seconds: float) -> int:
    received = 0

    async def client(url: str) -> None:
        nonlocal received
        async with websockets.connect(url, max_queue=None) as ws:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(
                        ws.recv(), timeout=max(deadline - time.monotonic(), 0.01)
                    )
                except TimeoutError:
                    break
                received += 1

    await asyncio.gather(*(client(u) for u in urls))
    return received


def run(quick: bool) -> dict[str, object]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    clients = 200 if quick else CLIENTS
    with tempfile.TemporaryDirectory(prefix="tradepit-idle-") as tmp:
        config = Path(tmp) / "c.toml"
        config.write_text(CONFIG)
        session = Path(tmp) / "session"
        port = free_port()
        py = [sys.executable, "-m", "engine.cli"]
        engine = subprocess.Popen(
            [*py, "engine", "--data-dir", str(session), "--config", str(config)],
            stderr=subprocess.DEVNULL,
        )
        gateway = subprocess.Popen(
            [
                *py,
                "gateway",
                "--data-dir",
                str(session),
                "--port",
                str(port),
                "--config",
                str(config),
            ],
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/health")
            keys = [
                httpx.post(
                    f"{url}/game/teams/register",
                    json={"team_name": f"idle-{i}", "role": "retail"},
                    timeout=10,
                ).json()["data"]["api_key"]
                for i in range(TEAMS)
            ]
            before = rss_mib(gateway.pid)
            urls = [f"ws://127.0.0.1:{port}/ws?api_key={keys[i % TEAMS]}" for i in range(clients)]
            peak = [before]

            async def measure() -> int:
                task = asyncio.create_task(hold(urls, 8.0))
                while not task.done():
                    peak[0] = max(peak[0], rss_mib(gateway.pid))
                    await asyncio.sleep(0.25)
                return await task

            received = asyncio.run(measure())
            time.sleep(1.0)
            after = rss_mib(gateway.pid)
        finally:
            for proc in (gateway, engine):
                proc.terminate()
                proc.wait(30)
    figures: dict[str, object] = {
        "clients": clients,
        "gateway_rss_before_mib": round(before, 1),
        "gateway_rss_peak_mib": round(peak[0], 1),
        "gateway_rss_after_mib": round(after, 1),
        "kib_per_client": round((peak[0] - before) * 1024 / clients, 1),
        "messages_received": received,
    }
    for key, value in figures.items():
        print(f"{key:<28}{value:>12}")
    return figures
