"""``./scripts/bench verify``: ``replay verify`` throughput, in events per second.

A session is recorded in process (the real core and market, house and retail flow on,
a tick per command batch), written to a log, then verified from disk.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from benchmarks._support import record_session
from engine.replay.verify import verify


def run(quick: bool) -> dict[str, object]:
    ticks = 300 if quick else 2000
    with tempfile.TemporaryDirectory(prefix="tradepit-verify-") as tmp:
        records = record_session(Path(tmp), ticks)
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
