"""``./scripts/bench idle``: gateway memory with 10,000 idle WebSocket clients.

Starts a real engine and gateway, registers 50 teams, and connects 10,000 clients (200
per team; the per-team cap is raised for this; ``--quick``: 1000). "Idle" clients send
nothing and read their stream, as a bot waiting for its next tick does; the market is
quiet (one tick in 10 minutes), so what is measured is what a held connection costs.
The gateway's resident memory is read from /proc before, with all clients connected,
and after they leave; ``GET /health`` is timed while they are all connected. The
benchmark raises its own file-descriptor limit (its children inherit it).
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from benchmarks._support import wait_http
from engine.ports import free_port

CLIENTS = 10_000
TEAMS = 50
CONFIG = """
[schedule]
tick_seconds = 600
pre_open_ticks = 1
auction_ticks = 1
[gateway]
ws_max_connections_per_team = 250
ws_max_connections = 20000
# TEAMS registrations from this one address at once
registrations_per_minute = 0
"""
#: Handshakes in flight at once.
CONNECTING = 200


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def hold(urls: list[str], gateway_pid: int, health: str) -> dict[str, Any]:
    """Connect every client, then read RSS and time ``/health`` while all are held."""
    gate = asyncio.Semaphore(CONNECTING)
    connected = asyncio.Event()
    release = asyncio.Event()
    count = [0, 0, 0]  # connected, messages received, failed
    failures: list[str] = []

    def settled() -> None:
        if count[0] + count[2] == len(urls):
            connected.set()

    async def client(url: str) -> None:
        try:
            async with gate:
                ws = await websockets.connect(url, max_queue=None, open_timeout=120)
            await ws.recv()  # its snapshot
        except Exception as exc:  # counted and named: one lost client must not hang the run
            count[2] += 1
            failures.append(repr(exc))
            settled()
            return
        try:
            count[1] += 1
            count[0] += 1
            settled()
            await release.wait()
        finally:
            await ws.close()

    tasks = [asyncio.create_task(client(u)) for u in urls]
    await connected.wait()
    await asyncio.sleep(2.0)  # let the gateway settle
    rss = rss_mib(gateway_pid)
    timings = []
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(20):
            started = time.perf_counter()
            r = await http.get(health)
            timings.append(time.perf_counter() - started)
            assert r.status_code == 200
            connections = r.json()["data"]["ws_connections"]
    release.set()
    await asyncio.gather(*tasks)
    timings.sort()
    return {
        "rss": rss,
        "health_p50_ms": round(timings[len(timings) // 2] * 1000, 1),
        "health_max_ms": round(timings[-1] * 1000, 1),
        "connections": connections,
        "received": count[1],
        "failed": count[2],
        "first_failure": failures[0] if failures else "",
    }


def run(quick: bool) -> dict[str, object]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    clients = 1000 if quick else CLIENTS
    assert hard > clients + 1000, f"the hard limit on open files ({hard}) is too low"
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
            held = asyncio.run(hold(urls, gateway.pid, f"{url}/health"))
            time.sleep(1.0)
            after = rss_mib(gateway.pid)
        finally:
            for proc in (gateway, engine):
                proc.terminate()
                proc.wait(30)
    figures: dict[str, object] = {
        "clients": clients,
        "gateway_rss_before_mib": round(before, 1),
        "gateway_rss_held_mib": round(held["rss"], 1),
        "gateway_rss_after_mib": round(after, 1),
        "kib_per_client": round((held["rss"] - before) * 1024 / max(held["connections"], 1), 1),
        "ws_connections_reported": held["connections"],
        "health_p50_ms_while_held": held["health_p50_ms"],
        "health_max_ms_while_held": held["health_max_ms"],
        "messages_received": held["received"],
        "clients_failed": held["failed"],
    }
    if held["failed"]:
        print(f"first failure: {held['first_failure']}")
    for key, value in figures.items():
        print(f"{key:<28}{value:>12}")
    return figures
