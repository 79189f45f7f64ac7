"""``./scripts/bench replay``: seeks in a 6-hour session, and ``replay serve --speed max``.

A 6-hour session at one tick a second (21 600 ticks, real core and market, house and
retail on, one bot team registered: 1.62M records) is recorded in process. Then, each
through a ``replay serve`` process and ``GET /replay/state`` as the viewer seeks:

* a cold seek to 90% of the log with the index off (``--snapshot-every 0``): a fold
  from seq 1, what every seek cost before the indexing pass;
* the indexing pass under ``replay serve`` (a snapshot every ``DEFAULT_EVERY``): its
  duration, and ``GET /health``'s latency meanwhile (the pass is another process);
* ``SEEKS`` seeks to random seqs once it is done: max, p99, p50, the most records any
  folded, and the cache's size on disk; then a second serve of the same session, whose
  index is complete at once;
* in process, the pass and the seeks (``gateway.web.dashboard.seek``, the handler's own
  code) for other K, which is how the default was chosen;
* the messages/s that ``replay serve --speed max`` sends to one WebSocket client.
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
from random import Random

import httpx
import websockets

from benchmarks._support import record_session, wait_http
from benchmarks.e2e import pct
from engine.ports import free_port
from engine.records import RegisterTeam
from gateway.replay import index
from gateway.web.dashboard import seek

KEY = "bench-key"
SEEKS = 300
SWEEP = (2_000, 5_000, 10_000, 25_000, 50_000)


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


def start_serve(directory: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = ["replay", "serve", str(directory), "--port", str(port), "--paused", *args]
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/admin/replay", 120)
    return proc, base


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


def timed_seek(client: httpx.Client, seq: int) -> tuple[float, int]:
    started = time.perf_counter()
    answer = client.get(f"/replay/state?seq={seq}")
    elapsed = time.perf_counter() - started
    data = answer.json()["data"]
    assert data["seq"] == seq, data
    return elapsed, int(data["folded"])


def cache_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def cold_seek(directory: Path, at: int) -> float:
    """The viewer's seek with no index: a fold from seq 1."""
    proc, base = start_serve(directory, "--snapshot-every", "0")
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            return timed_seek(client, at)[0]
    finally:
        stop(proc)


def indexed_seeks(directory: Path, seqs: list[int]) -> dict[str, object]:
    """The pass under ``replay serve``, /health meanwhile, then seeks to ``seqs``; then a
    second serve of the same session (the cache is ``XDG_CACHE_HOME``'s, empty at first)."""
    started = time.perf_counter()
    proc, base = start_serve(directory)
    health: list[float] = []
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            while client.get("/replay/index").json()["data"]["state"] == "indexing":
                t = time.perf_counter()
                client.get("/health")
                health.append(time.perf_counter() - t)
                time.sleep(0.05)
            status = client.get("/replay/index").json()["data"]
            assert status["state"] == "done", status
            pass_s = time.perf_counter() - started
            times, folded = zip(*(timed_seek(client, seq) for seq in seqs), strict=True)
    finally:
        stop(proc)
    proc, base = start_serve(directory)
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            second = client.get("/replay/index").json()["data"]["state"]
            second_seek = timed_seek(client, seqs[0])[0]
    finally:
        stop(proc)
    return {
        "index_every": status["every"],
        "index_snapshots": status["snapshots"],
        "index_pass_s": round(pass_s, 1),
        "health_during_pass_p99_ms": round(pct(health, 0.99), 1),
        "health_during_pass_max_ms": round(max(health) * 1000, 1),
        "seeks": len(seqs),
        "seek_max_s": round(max(times), 3),
        "seek_p99_s": round(pct(list(times), 0.99) / 1000, 3),
        "seek_p50_s": round(pct(list(times), 0.5) / 1000, 3),
        "seek_max_folded": max(folded),
        "cache_mb": round(cache_bytes(Path(os.environ["XDG_CACHE_HOME"])) / 1e6, 1),
        "second_serve_index_state": second,
        "second_serve_seek_s": round(second_seek, 3),
    }


def sweep(directory: Path, tmp: Path, seqs: list[int]) -> dict[str, object]:
    """The pass and seeks in process for each K of ``SWEEP``, each in a cache of its own."""
    figures: dict[str, object] = {}
    for every in SWEEP:
        os.environ["XDG_CACHE_HOME"] = str(tmp / f"cache-{every}")
        started = time.perf_counter()
        index.build(directory, every)
        built = time.perf_counter() - started
        times = []
        for seq in seqs:
            t = time.perf_counter()
            seek(directory, seq)
            times.append(time.perf_counter() - t)
        figures[f"k{every}_pass_s"] = round(built, 1)
        figures[f"k{every}_cache_mb"] = round(cache_bytes(tmp / f"cache-{every}") / 1e6, 1)
        figures[f"k{every}_seek_max_s"] = round(max(times), 3)
        figures[f"k{every}_seek_p99_s"] = round(pct(times, 0.99) / 1000, 3)
    return figures


def serve_rate(directory: Path) -> tuple[int, float, int]:
    proc, base = start_serve(directory, "--speed", "max", "--snapshot-every", "0")
    try:
        httpx.post(f"{base}/admin/replay/step?to_seq=10", timeout=10)  # past the registration
        while httpx.get(f"{base}/admin/replay", timeout=10).json()["data"]["position"] < 10:
            time.sleep(0.05)

        async def go() -> tuple[int, float, int]:
            task = asyncio.create_task(drain(f"ws{base[4:]}/ws?api_key={KEY}", 3.0))
            await asyncio.sleep(0.5)
            await asyncio.to_thread(httpx.post, f"{base}/admin/replay/resume", timeout=10)
            return await task

        return asyncio.run(go())
    finally:
        stop(proc)


def run(quick: bool) -> dict[str, object]:
    ticks = 2_000 if quick else 21_600
    with tempfile.TemporaryDirectory(prefix="tradepit-replay-") as tmp:
        directory = Path(tmp) / "log"
        key_hash = hashlib.sha256(KEY.encode()).hexdigest()
        bot = RegisterTeam(team_name="bench-bot", role="hedge_fund", api_key_hash=key_hash)
        records = record_session(directory, ticks, [bot])
        at = records * 9 // 10
        rng = Random(7)
        seqs = [rng.randint(1, records) for _ in range(SEEKS)]
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache-cold")
        cold = cold_seek(directory, at)
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache-serve")
        served = indexed_seeks(directory, seqs)
        swept = sweep(directory, Path(tmp), seqs[:100]) if not quick else {}
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache-rate")
        messages, seconds, resumes = serve_rate(directory)
    figures: dict[str, object] = {
        "records": records,
        "cold_seek_at_seq": at,
        "cold_seek_s": round(cold, 2),
        **served,
        **swept,
        "serve_max_messages": messages,
        "serve_max_messages_per_s": round(messages / seconds) if seconds else 0,
        "serve_max_resumes": resumes,
    }
    for key, value in figures.items():
        print(f"{key:<30}{value:>14}")
    return figures
