"""What several benchmarks share: a free port, waiting for a server, recording a session."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from engine import config as configmod
from engine import log as logmod
from engine.core.exchange import Exchange
from engine.records import ChangePhase, ClockTick, Command, Record, StartSession, stamp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 60) -> None:
    """Until ``url`` answers at all (a server process is starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def record_session(directory: Path, ticks: int, extra: list[Command] | None = None) -> int:
    """Record a session in process (real core and market) into a log; returns its records."""
    config = configmod.load(None)
    commands: list[Command] = [
        StartSession(
            session_id="bench",
            seed=5,
            config=configmod.canonical_json(config),
            config_hash=configmod.config_hash(config),
        ),
        *(extra or []),
        ChangePhase(phase="continuous"),
        *[ClockTick()] * ticks,
    ]
    core = Exchange(config, 5, "bench")
    seq = total = 0
    with logmod.open_writer(directory, config.log) as writer:
        batch: list[Record] = []
        for n, command in enumerate(commands):
            stamped = stamp(command, seq + 1, 10**18 + n * 10**8)
            events = core.apply(stamped)
            batch += [stamped, *events]
            seq += 1 + len(events)
            if len(batch) > 8192:
                writer.append(batch)
                total += len(batch)
                batch = []
        writer.append(batch)
        total += len(batch)
    return total
