"""What several benchmarks share: a free port, waiting for a server, recording a session,
another commit's sources to measure against."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import httpx

from engine import config as configmod
from engine import log as logmod
from engine.core.exchange import Exchange
from engine.records import ChangePhase, ClockTick, Command, Record, StartSession, stamp

ROOT = Path(__file__).resolve().parent.parent


def checkout(rev: str, tmp: Path) -> Path:
    """The sources of commit ``rev`` in ``tmp`` (``git archive``), its core compiled like
    this checkout's, so a baseline runs as it ran then."""
    archive = tmp / f"{rev}.tar"
    subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev],
        check=True,
        capture_output=True,
    )
    tree = tmp / f"checkout-{rev}"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    subprocess.run(
        [sys.executable, "-m", "engine.cli", "native", "build"],
        cwd=tree,
        env=run_from(tree),
        check=True,
        capture_output=True,
    )
    return tree


def run_from(tree: Path | None) -> dict[str, str]:
    """The environment for ``python -m engine.cli`` from ``tree`` (None: this checkout)."""
    if tree is None:
        return dict(os.environ)
    return {**os.environ, "PYTHONPATH": str(tree)}


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``url`` answers at all (a server process is starting); an error at once if
    ``proc``, the server, has exited meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited ({proc.returncode})") from None
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process so far (``/proc/PID/stat``, fields 14, 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
