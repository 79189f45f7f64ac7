"""``./scripts/bench replay``: ``inspect`` deep in a long log, and ``replay serve --speed max``.

A session of about 1M records (real core and market, house and retail on, one bot team
registered) is recorded in process. Then: ``inspect`` at 90% of the log twice (the
first call folds from seq 1 and leaves snapshots; the second starts from the nearest
one), and the messages/s that ``replay serve --speed max`` sends to one WebSocket client.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from benchmarks._support import free_port, record_session, wait_http
from engine.records import RegisterTeam
from gateway.replay.inspect import state_at

KEY = "bench-key"


async def drain(url: str, quiet: float) -> tuple[int, float, int]:
    """Messages received until the stream goes quiet, the seconds they took, and the
    resumes needed: a client that falls behind is closed (4008) and resumes by seq."""
    count, first, last, last_seq, resumes = 0, 0.0, 0.0, 0, 0
    while True:
        try:
            async with websockets.connect(
                f"{url}&last_seq={last_seq}", max_queue=None, max_size=None
            ) as ws:
                while True:
                    try:
                        message = await asyncio.wait_for(ws.recv(), timeout=quiet)
                    except TimeoutError:
                        return count, last - first, resumes
                    last = time.perf_counter()
                    first = first or last
                    count += 1
                    text = message if isinstance(message, str) else message.decode()
                    last_seq = int(text[7 : text.index(",")])  # {"seq":N,...
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is None or closed.rcvd.code != 4008:
                raise
            resumes += 1


def serve_rate(directory: Path) -> tuple[int, float, int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "replay",
            "serve",
            str(directory),
            "--speed",
            "max",
            "--port",
            str(port),
            "--paused",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/admin/replay", 120)
        httpx.post(f"{base}/admin/replay/step?to_seq=10", timeout=10)  # past the registration
        while httpx.get(f"{base}/admin/replay", timeout=10).json()["data"]["position"] < 10:
            time.sleep(0.05)

        async def go() -> tuple[int, float, int]:
            task = asyncio.create_task(drain(f"ws://127.0.0.1:{port}/ws?api_key={KEY}", 3.0))
            await asyncio.sleep(0.5)
            await asyncio.to_thread(httpx.post, f"{base}/admin/replay/resume", timeout=10)
            return await task

        return asyncio.run(go())
    finally:
        proc.terminate()
        proc.wait(30)


def run(quick: bool) -> dict[str, object]:
    ticks = 2_000 if quick else 10_000
    with tempfile.TemporaryDirectory(prefix="tradepit-replay-") as tmp:
        directory = Path(tmp) / "log"
        key_hash = hashlib.sha256(KEY.encode()).hexdigest()
        bot = RegisterTeam(team_name="bench-bot", role="hedge_fund", api_key_hash=key_hash)
        records = record_session(directory, ticks, [bot])
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        at = records * 9 // 10
        started = time.perf_counter()
        state_at(directory, at)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        _, start, folded = state_at(directory, at)
        warm = time.perf_counter() - started
        messages, seconds, resumes = serve_rate(directory)
    figures: dict[str, object] = {
        "records": records,
        "inspect_at_seq": at,
        "inspect_cold_s": round(cold, 2),
        "inspect_warm_s": round(warm, 3),
        "inspect_warm_folded_records": folded,
        "inspect_warm_snapshot_seq": start,
        "serve_max_messages": messages,
        "serve_max_messages_per_s": round(messages / seconds) if seconds else 0,
        "serve_max_resumes": resumes,
    }
    for key, value in figures.items():
        print(f"{key:<30}{value:>14}")
    return figures
