"""REST order entry with one and two gateways on one port, and the engine's ceiling.

The same wrk load (``POST /orders``, 16 connections) runs against one gateway and then
against two sharing the port with ``SO_REUSEPORT``, each over a fresh session. For
each run the benchmark samples the CPU time of the engine, of each gateway and of wrk
itself (``/proc/PID/stat`` and the children's rusage), so the scaling can be read even
on a 2-core machine where the load generator takes a core of its own: orders/s per
gateway core is the figure that carries to a bigger host. The engine-alone ceiling
(``benchmarks/engine.py``) is measured in the same run, so the sizing rule
``gateways one engine feeds = engine ceiling / orders/s per gateway`` comes from one
set of figures.
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks import engine as enginebench
from benchmarks._support import cpu_seconds
from benchmarks.e2e import CONFIG, cluster, register, wrk, wrk_script


class Cpu:
    """CPU shares (of one core) of named processes from now until ``shares``."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.started = time.perf_counter()
        self.used = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def shares(self) -> dict[str, float]:
        wall = time.perf_counter() - self.started
        return {
            name: (cpu_seconds(pid) - self.used[name]) / wall for name, pid in self.pids.items()
        }


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_gateways(url: str, count: int) -> None:
    """Until fresh connections have reached every gateway behind the port."""
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while len(seen) < count:
        assert time.monotonic() < deadline, f"only {sorted(seen)} answered"
        with httpx.Client() as fresh:
            seen.add(fresh.get(f"{url}/health").headers.get("X-Gateway-Id", "?"))


def one(tmp: Path, gateways: int, seconds: int) -> dict[str, float]:
    procs: list[subprocess.Popen[bytes]] = []
    with cluster(tmp, CONFIG, f"g{gateways}", gateways=gateways, procs=procs) as url:
        wait_for_gateways(url, gateways)
        key = register(url, "wrk-bot", "market_maker")
        script = tmp / f"post-{gateways}.lua"
        script.write_text(wrk_script(url, key))
        before = [cpu_seconds(p.pid) for p in procs]
        wrk_before = children_cpu()
        started = time.perf_counter()
        rate = wrk(f"{url}/orders", script, seconds)
        wall = time.perf_counter() - started
        wrk_cpu = children_cpu() - wrk_before
        used = [cpu_seconds(p.pid) - b for p, b in zip(procs, before, strict=True)]
    engine_cores = used[0] / wall
    gateway_cores = sum(used[1:]) / wall
    return {
        "orders_per_s": rate,
        "engine_cores": engine_cores,
        "gateway_cores": gateway_cores,
        "wrk_cores": wrk_cpu / wall,
        "orders_per_gateway_core": rate / max(gateway_cores, 1e-9),
    }


def run(quick: bool) -> dict[str, object]:
    seconds = 4 if quick else 8
    figures: dict[str, object] = {"cores": os.cpu_count() or 1}
    with tempfile.TemporaryDirectory(prefix="tradepit-scale-") as name:
        tmp = Path(name)
        runs = {n: one(tmp, n, seconds) for n in (1, 2)}
        ceiling = enginebench.run(quick)["engine_commands_per_s"]
    assert isinstance(ceiling, int)
    for n, result in runs.items():
        for key, value in result.items():
            figures[f"g{n}_{key}"] = round(value, 2 if "cores" in key else None)
    figures["two_over_one"] = round(runs[2]["orders_per_s"] / runs[1]["orders_per_s"], 2)
    figures["engine_alone_commands_per_s"] = ceiling
    per_gateway = runs[1]["orders_per_s"]
    figures["gateways_one_engine_feeds"] = round(ceiling / per_gateway, 1)
    print()
    for key, shown in figures.items():
        print(f"{key:<36}{shown!s:>12}")
    return figures
