"""``./scripts/bench dashboard``: do 100 dashboards slow the bots down?

Issue 12's performance point: with the house and retail on and 20 ticks a second, the
order ack p99 with 100 clients on ``/ws/public`` should be within 20% of the same
without them. One cluster, one run: the ack latency is measured in eight phases, without
dashboards and with 100 of them reading every frame, in the order ABBAABBA: a p99 of one
phase moved by half between runs on this machine, so the figure pools 6,000 acks a side
and the order cancels a drift. Orders rest far from the market (a
bid at 0.05), so every ack is the same work whatever the book does.

The dashboards live in another process and count frames without decoding them: real
pages draw on the spectators' machines, not on the gateway's two cores, and a client
that parsed every frame with a full WebSocket library here took 0.08 of a core from the
engine and gateway it measures (0.03 now).
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchmarks.e2e import CONFIG, cluster, pct, register
from benchmarks.scale import Cpu

BUSY = (
    CONFIG.replace("tick_seconds = 0.5", "tick_seconds = 0.05\ncontinuous_ticks = 1000000")
    .replace("[house]\nenabled = false", "[house]\nenabled = true")
    .replace("[retail]\nenabled = false", "[retail]\nenabled = true")
)
DASHBOARDS = 100


def busy() -> str:
    """``BUSY``, with ``TRADEPIT_PUBLIC_BATCH_SECONDS`` as the pages' write interval if
    set (to measure another than the default 0.25 s)."""
    interval = os.environ.get("TRADEPIT_PUBLIC_BATCH_SECONDS")
    return BUSY if interval is None else BUSY + f"[gateway]\npublic_batch_seconds = {interval}\n"


async def acks(url: str, key: str, rate: float, count: int) -> list[float]:
    out: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        for _ in range(count):
            started = time.perf_counter()
            r = await c.post(
                "/orders",
                headers={"X-API-Key": key},
                json={"instrument_id": "SPY_440_CALL", "side": "buy", "quantity": 1, "price": 0.05},
            )
            out.append(time.perf_counter() - started)
            assert r.status_code == 200, r.text
            await asyncio.sleep(max(1.0 / rate - (time.perf_counter() - started), 0))
        await c.delete("/orders", headers={"X-API-Key": key})
    return out


async def _read_frames(reader: asyncio.StreamReader, stop: Any) -> int:
    """Count the server's WebSocket frames as they arrive, without decoding them.

    A browser parses its page's frames on its own machine; here a hundred pages share
    the gateway's two cores, so each costs as little as a reader can: the frame headers
    (RFC 6455 5.2; a server's frames are unmasked) are walked and the payloads skipped.
    """
    frames = 0
    pending = b""
    skip = 0  # payload bytes of the current frame still to come
    while not stop.is_set():
        try:
            chunk = await asyncio.wait_for(reader.read(1 << 16), 0.5)
        except TimeoutError:
            continue
        if not chunk:
            raise ConnectionError("the gateway closed a dashboard's stream")
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        data, skip = pending + chunk[skip:], 0
        at = 0
        while len(data) - at >= 2:
            n, header = data[at + 1] & 0x7F, 2
            if n == 126:
                header = 4
                if len(data) - at < header:
                    break
                n = int.from_bytes(data[at + 2 : at + 4])
            elif n == 127:
                header = 10
                if len(data) - at < header:
                    break
                n = int.from_bytes(data[at + 2 : at + 10])
            frames += 1
            if len(data) - at < header + n:
                skip = header + n - (len(data) - at)
                at = len(data)
                break
            at += header + n
        pending = data[at:]
    return frames


async def _dashboard(host: str, port: int, ready: Any, stop: Any, connected: list[int]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws/public HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"no upgrade: {head!r}")
    # the snapshot, whole, before this page counts as open: the 100 snapshots are the
    # pages' start, not their steady cost, and must not fall in the measured phase
    size = (await reader.readexactly(2))[1] & 0x7F
    if size == 126:
        size = int.from_bytes(await reader.readexactly(2))
    elif size == 127:
        size = int.from_bytes(await reader.readexactly(8))
    await reader.readexactly(size)
    connected[0] += 1
    if connected[0] == DASHBOARDS:
        ready.set()
    try:
        return 1 + await _read_frames(reader, stop)
    finally:
        writer.close()


async def _dashboards(ws_url: str, ready: Any, stop: Any, frames: Any) -> None:
    address = urlsplit(ws_url)
    assert address.hostname is not None
    assert address.port is not None
    connected = [0]
    counts = await asyncio.gather(
        *(
            _dashboard(address.hostname, address.port, ready, stop, connected)
            for _ in range(DASHBOARDS)
        )
    )
    frames.value = sum(counts)


def _dashboard_process(ws_url: str, ready: Any, stop: Any, frames: Any) -> None:
    asyncio.run(_dashboards(ws_url, ready, stop, frames))


def with_dashboards(
    url: str, key: str, rate: float, count: int, pids: dict[str, int]
) -> tuple[list[float], int, dict[str, float]]:
    """Ack latencies while ``DASHBOARDS`` clients read ``/ws/public`` in another process
    (so their parsing does not slow the measuring client); frames they read; CPU shares
    while the acks were measured."""
    ctx = multiprocessing.get_context("spawn")
    ready, stop, frames = ctx.Event(), ctx.Event(), ctx.Value("q", 0)
    ws_url = url.replace("http", "ws", 1) + "/ws/public"
    proc = ctx.Process(target=_dashboard_process, args=(ws_url, ready, stop, frames))
    proc.start()
    try:
        if not ready.wait(120):
            raise RuntimeError("the dashboards did not all connect")
        assert proc.pid is not None
        cpu = Cpu({**pids, "dashboards": proc.pid})
        latencies = asyncio.run(acks(url, key, rate, count))
        shares = cpu.shares()
    finally:
        stop.set()
        proc.join(60)
    return latencies, int(frames.value), shares


#: Phases in the order without (A) / with (B) dashboards: ABBA twice, so a drift of the
#: machine during the run weighs on both sides alike.
PHASES = "ABBAABBA"


def run(quick: bool) -> dict[str, object]:
    count = 150 if quick else 1500  # 15 s a phase, 6,000 acks a side
    rate = 100.0
    figures: dict[str, object] = {"dashboards": DASHBOARDS, "orders_per_s": rate, "orders": count}
    figures["public_batch_seconds"] = os.environ.get("TRADEPIT_PUBLIC_BATCH_SECONDS", "0.25")
    procs: list[subprocess.Popen[bytes]] = []
    sides: dict[str, list[float]] = {"A": [], "B": []}
    phase_p99: dict[str, list[float]] = {"A": [], "B": []}
    cpu_shares: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
    frames = 0
    with (
        tempfile.TemporaryDirectory(prefix="tradepit-dash-") as name,
        cluster(Path(name), busy(), procs=procs) as url,
    ):
        pids = {"engine": procs[0].pid, "gateway": procs[1].pid}
        key = register(url, "ack-bot", "hedge_fund")
        # not measured: the first seconds of a cluster (imports finishing, the first
        # collections of a growing heap) made the first phase the slowest
        asyncio.run(acks(url, key, rate, count // 5))
        for side in PHASES:
            if side == "A":
                cpu = Cpu(pids)
                values = asyncio.run(acks(url, key, rate, count))
                shares = cpu.shares()
            else:
                values, read, shares = with_dashboards(url, key, rate, count, pids)
                frames += read
            sides[side] += values
            phase_p99[side].append(pct(values, 0.99))
            cpu_shares[side].append(shares)
    for side, label in (("A", "without"), ("B", "with_dashboards")):
        figures[f"ack_p50_ms_{label}"] = round(pct(sides[side], 0.5), 2)
        figures[f"ack_p99_ms_{label}"] = round(pct(sides[side], 0.99), 2)
        figures[f"phase_p99s_ms_{label}"] = [round(v, 1) for v in phase_p99[side]]
        for process in cpu_shares[side][0]:
            taken = [shares[process] for shares in cpu_shares[side]]
            figures[f"cpu_{process}_{label}"] = round(statistics.mean(taken), 2)
    figures["p99_ratio"] = round(pct(sides["B"], 0.99) / pct(sides["A"], 0.99), 2)
    figures["dashboard_frames_read"] = frames
    for key_, value in figures.items():
        print(f"{key_:<34} {value}")
    return figures
