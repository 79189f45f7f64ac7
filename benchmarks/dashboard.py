"""``./scripts/bench dashboard``: do 100 dashboards slow the bots down?

Issue 12's performance point: with the house and retail on and 20 ticks a second, the
order ack p99 with 100 clients on ``/ws/public`` should be within 20% of the same
without them. One cluster, one run: the ack latency is measured without dashboards,
with 100 of them reading every frame, and without again, so drift on a shared
machine shows as a difference between the two runs without. Orders rest far from the
market (a bid at 0.05), so every ack is the same work whatever the book does.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from benchmarks.e2e import CONFIG, cluster, pct, register

BUSY = (
    CONFIG.replace("tick_seconds = 0.5", "tick_seconds = 0.05\ncontinuous_ticks = 1000000")
    .replace("[house]\nenabled = false", "[house]\nenabled = true")
    .replace("[retail]\nenabled = false", "[retail]\nenabled = true")
)
DASHBOARDS = 100


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


async def with_dashboards(url: str, key: str, rate: float, count: int) -> tuple[list[float], int]:
    """Ack latencies while ``DASHBOARDS`` clients read ``/ws/public``; frames they read."""
    ws_url = url.replace("http", "ws", 1) + "/ws/public"
    frames = [0]
    stop = asyncio.Event()

    async def dashboard() -> None:
        async with websockets.connect(ws_url, max_queue=None) as ws:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                frames[0] += 1

    tasks = [asyncio.create_task(dashboard()) for _ in range(DASHBOARDS)]
    while frames[0] < DASHBOARDS:  # every page has its snapshot
        await asyncio.sleep(0.05)
    try:
        latencies = await acks(url, key, rate, count)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return latencies, frames[0]


def run(quick: bool) -> dict[str, object]:
    count = 300 if quick else 1000
    rate = 100.0
    figures: dict[str, object] = {"dashboards": DASHBOARDS, "orders_per_s": rate, "orders": count}
    with (
        tempfile.TemporaryDirectory(prefix="tradepit-dash-") as name,
        cluster(Path(name), BUSY) as url,
    ):
        key = register(url, "ack-bot", "hedge_fund")
        before = asyncio.run(acks(url, key, rate, count))
        during, frames = asyncio.run(with_dashboards(url, key, rate, count))
        after = asyncio.run(acks(url, key, rate, count))
    p99 = {}
    for label, values in (("before", before), ("with_dashboards", during), ("after", after)):
        figures[f"ack_p50_ms_{label}"] = round(pct(values, 0.5), 2)
        p99[label] = figures[f"ack_p99_ms_{label}"] = round(pct(values, 0.99), 2)
    baseline = max(p99["before"], p99["after"])
    figures["p99_ratio_to_worse_baseline"] = round(p99["with_dashboards"] / baseline, 2)
    figures["dashboard_frames_read"] = frames
    for key_, value in figures.items():
        print(f"{key_:<34} {value}")
    return figures
