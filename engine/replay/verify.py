"""``tradepit replay verify DATA_DIR``: re-execute a session and compare every event."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

import msgspec

from engine import log as logmod
from engine.records import Record
from engine.replay.reexecute import Divergence, Reexecution


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total = max(total, 1)
        self.out = out
        self.enabled = out.isatty()
        self.last = 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        width = 40
        filled = int(width * done / self.total)
        self.out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}")
        self.out.flush()

    def close(self) -> None:
        if self.enabled:
            self.out.write("\r" + " " * 70 + "\r")


def fields(record: Record | None) -> dict[str, object]:
    if record is None:
        return {}
    out: dict[str, object] = {"type": type(record).__struct_config__.tag}
    out.update(msgspec.structs.asdict(record))
    return out


def side_by_side(exc: Divergence) -> str:
    left, right = fields(exc.recorded), fields(exc.reexecuted)
    keys = list(dict.fromkeys([*left, *right]))
    width = max([len(k) for k in keys] + [5])
    rows = [f"  {'field':<{width}}  {'recorded':<32}  re-executed"]
    for key in keys:
        a = repr(left.get(key, "—")) if key in left else "—"
        b = repr(right.get(key, "—")) if key in right else "—"
        mark = "*" if a != b else " "
        rows.append(f"{mark} {key:<{width}}  {a:<32}  {b}")
    return "\n".join(rows)


def verify(data_dir: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """0 when the session reproduces itself, 1 on divergence or corruption, 2 on a bad dir."""
    log_dir = data_dir / "log" if (data_dir / "log").is_dir() else data_dir
    try:
        reader = logmod.open_reader(log_dir)
    except logmod.LogError as exc:
        print(f"error: {exc}", file=err)
        return 2
    run = Reexecution()
    progress = Progress(reader.head_seq, err)
    started = time.perf_counter()
    try:
        for record in reader.read(1):
            run.feed(record)
            if run.records & 0x3FFF == 0:
                progress.update(run.records)
        run.finish()
    except Divergence as exc:
        progress.close()
        print(f"DIVERGED at seq {exc.seq}: {exc.why}", file=out)
        print(side_by_side(exc), file=out)
        return 1
    except logmod.LogError as exc:
        progress.close()
        print(f"CORRUPT: {exc}", file=out)
        return 1
    finally:
        reader.close()
    progress.close()
    elapsed = time.perf_counter() - started
    teams = len(run.core.teams) if run.core is not None else 0
    events = run.records - run.commands
    rate = events / elapsed if elapsed > 0 else float("inf")
    print(
        f"OK: {run.records} records ({run.commands} commands, {events} events), "
        f"{run.ticks} ticks, {teams} teams, verified in {elapsed:.2f}s ({rate:,.0f} events/s)",
        file=out,
    )
    return 0
