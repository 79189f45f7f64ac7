"""``./scripts/bench verify``: ``replay verify`` throughput, in events per second.

A session is recorded in process (the real core and market, house and retail flow on,
a tick per command batch), written to a log, then verified from disk.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from engine import config as configmod
from engine import log as logmod
from engine.exchange import Exchange
from engine.records import ChangePhase, ClockTick, Command, Record, StartSession, stamp
from engine.replay.verify import verify


def record(directory: Path, ticks: int) -> int:
    config = configmod.load(None)
    start = StartSession(
        session_id="bench",
        seed=5,
        config=configmod.canonical_json(config),
        config_hash=configmod.config_hash(config),
    )
    core = Exchange(config, 5, "bench")
    seq, total = 1, 0
    commands: list[Command] = [start, ChangePhase(phase="continuous")]
    commands += [ClockTick()] * ticks
    with logmod.open_writer(directory, config.log) as writer:
        batch: list[Record] = []
        for n, command in enumerate(commands):
            stamped = stamp(command, seq, 10**18 + n * 10**9)
            events = core.apply(stamped)
            batch += [stamped, *events]
            seq += 1 + len(events)
            if len(batch) > 4096:
                writer.append(batch)
                total += len(batch)
                batch = []
        writer.append(batch)
        total += len(batch)
    return total


def run(quick: bool) -> dict[str, object]:
    ticks = 300 if quick else 2000
    with tempfile.TemporaryDirectory(prefix="tradepit-verify-") as tmp:
        records = record(Path(tmp), ticks)
        out = io.StringIO()
        started = time.perf_counter()
        code = verify(Path(tmp), out=out, err=io.StringIO())
        elapsed = time.perf_counter() - started
    assert code == 0, out.getvalue()
    figures: dict[str, object] = {
        "ticks": ticks,
        "records": records,
        "verify_seconds": round(elapsed, 2),
        "verify_records_per_s": round(records / elapsed),
        "target_events_per_s": 100_000,
    }
    print(out.getvalue().strip())
    for key, value in figures.items():
        print(f"{key:<24}{value:>14}")
    return figures
