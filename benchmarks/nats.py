"""``./scripts/bench nats``: the log on NATS JetStream against the local log, same run.

1. Orders/s through one gateway (wrk, as ``bench e2e``) and the ack p50/p99 at the same
   fixed moderate load, once with the local log only and once with ``--nats`` (a
   single-node JetStream, file storage, ``sync_interval: always``: every publish is
   fsynced by the server before its ack, and the engine answers after that ack).
2. Catch-up: a session of about 1M records (the real core and market, one stream
   message per command and its events, as the engine publishes them) read back from
   the stream in process, and the time a remote gateway (``--nats --session``) takes
   from its start to serving the head, beside a local gateway on the same log.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks._support import record_session, run_from, wait_http
from benchmarks.e2e import CONFIG, cluster, latencies, pct, register, wrk, wrk_script
from engine import log as logmod
from engine.log.nats import server
from engine.log.nats.access import KEY_ENV
from engine.log.nats.client import NatsLog
from engine.log.nats.writer import StreamWriter
from engine.ports import free_port
from engine.records import Command, Record

PY = [sys.executable, "-m", "engine.cli"]
#: The session key of the streams published here (a throwaway, for loopback figures);
#: gateways get it in the environment, which a baseline checkout without keys ignores.
BENCH_KEY = bytes(range(32))


@contextmanager
def session(tmp: Path, name: str, nats_url: str | None) -> Iterator[str]:
    extra = ["--nats", nats_url, "--session", name] if nats_url else []
    with cluster(tmp, CONFIG, name, engine_args=extra) as url:
        yield url


def orders_and_acks(tmp: Path, name: str, nats_url: str | None, quick: bool) -> dict[str, float]:
    with session(tmp, name, nats_url) as url:
        key = register(url, "wrk-bot", "market_maker")
        script = tmp / f"{name}.lua"
        script.write_text(wrk_script(url, key))
        rate = wrk(f"{url}/orders", script, 4 if quick else 8)
        maker = register(url, "lat-maker", "market_maker")
        taker = register(url, "lat-taker", "hedge_fund")
        acks, _ = asyncio.run(latencies(url, maker, taker, 200.0, 200 if quick else 1000))
    return {"orders_per_s": rate, "ack_p50_ms": pct(acks, 0.5), "ack_p99_ms": pct(acks, 0.99)}


def publish_log(log_dir: Path, nats_log: NatsLog) -> int:
    """The recorded log into the stream, one message per command and its events."""
    writer = StreamWriter(nats_log)
    messages = 0
    group: list[Record] = []
    with logmod.open_reader(log_dir) as reader:
        for record in reader.read(1):
            if isinstance(record, Command) and group:
                writer.append(group)
                messages += 1
                group = []
            group.append(record)
    writer.append(group)
    return messages + 1


def start_gateway(
    args: list[str], head: int, *, checkout: Path | None = None
) -> tuple[float, float | None]:
    """Seconds from a gateway's process start to its ``/health`` showing ``head``, and
    the gateway's own catch-up clock (``tradepit_gateway_catch_up_seconds``: from its
    first read to the head, without the process start and imports; None from a gateway
    without it). The gateway of the sources in ``checkout`` if given."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*PY, "gateway", "--port", str(port), *args],
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        cwd=checkout,
        env=run_from(checkout) | {KEY_ENV: BENCH_KEY.hex()},
    )
    try:
        url = f"http://127.0.0.1:{port}/health"
        wait_http(url, 600, proc)
        while httpx.get(url, timeout=10).json()["data"]["applied_seq"] < head:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        found = re.search(r"^tradepit_gateway_catch_up_seconds ([\d.e+-]+)$", metrics, re.M)
        return seconds, float(found.group(1)) if found else None
    finally:
        proc.terminate()
        proc.wait(30)


def catch_up(tmp: Path, url: str, quick: bool) -> dict[str, object]:
    data = tmp / "recorded"
    records = record_session(data / "log", 900 if quick else 12000)
    nats_log = NatsLog(url, "recorded", key=BENCH_KEY)
    try:
        started = time.perf_counter()
        messages = publish_log(data / "log", nats_log)
        published = time.perf_counter() - started
        started = time.perf_counter()
        read = sum(1 for _ in nats_log.read(1))
        reading = time.perf_counter() - started
    finally:
        nats_log.close()
    assert read == records, (read, records)
    remote, _ = start_gateway(["--nats", url, "--session", "recorded"], records)
    local, _ = start_gateway(["--data-dir", str(data)], records)
    return {
        "catch_up_records": records,
        "catch_up_stream_messages": messages,
        "catch_up_records_per_message": round(records / messages, 1),
        "publish_messages_per_s": round(messages / published),
        "stream_read_records_per_s": round(records / reading),
        "remote_gateway_catch_up_s": round(remote, 2),
        "remote_gateway_records_per_s": round(records / remote),
        "local_gateway_catch_up_s": round(local, 2),
        "local_gateway_records_per_s": round(records / local),
    }


def run(quick: bool) -> dict[str, object]:
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="tradepit-nats-") as name:
        tmp = Path(name)
        nats = server.single(tmp / "nats-server")
        try:
            local = orders_and_acks(tmp, "local", None, quick)
            mirrored = orders_and_acks(tmp, "mirrored", nats.url, quick)
            for key in ("orders_per_s", "ack_p50_ms", "ack_p99_ms"):
                figures[f"local_{key}"] = round(local[key], 2)
                figures[f"nats_{key}"] = round(mirrored[key], 2)
            p99, rate = "ack_p99_ms", "orders_per_s"
            figures["nats_ack_p99_ratio"] = round(mirrored[p99] / local[p99], 2)
            figures["nats_orders_ratio"] = round(mirrored[rate] / local[rate], 2)
            figures |= catch_up(tmp, nats.url, quick)
        finally:
            nats.stop()
    for k, v in figures.items():
        print(f"{k:<34}{v:>12}")
    return figures
