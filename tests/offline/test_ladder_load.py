"""Under twice the CPU load, a ladder heat's standings are identical: the limits are CPU
time and lockstep ticks, not wall time.

The same heat (same seed, the four example bots) runs twice: alone, then beside two
processes that spin on both cores of the machine. The bots' per-tick budget is their
own CPU time and a tick waits for every bot, so the busy machine only slows the heat
down; it changes no standing, nor any record of the log: the rounds order the bots'
requests, and the kit answers a request only once the bot's stream shows it, so what a
bot decides next does not depend on which socket spoke first (docs/backtest.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from engine import log as logmod
from engine.records import ROLES, TickStarted
from gateway.offline.ladder import heat, roster

BUSY = "while True: pass"
#: What two runs of one heat may write differently: the wall time of what came before
#: the first tick, the session's id, the fresh keys' hashes, the gateway's request ids
UNEQUAL = frozenset({"session_id", "api_key_hash", "request_id"})


def standings(record: dict[str, object]) -> dict[str, tuple[object, ...]]:
    teams = record["teams"]
    assert isinstance(teams, list)
    return {t["name"]: (t["team_id"], t["rank"], t["standing"], t["score"], t["failed"])
            for t in teams}  # fmt: skip


def log(folder: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The heat's log records, each a dict of its fields but the ``UNEQUAL`` ones. Times
    (``ts``) count from the first tick, which starts at the wall's time: the lockstep
    clock's virtual time goes on from it. Before it they are the wall's: left out."""
    session = folder / str(record["session"])
    records, first_tick = [], None
    with logmod.open_reader(logmod.log_directory(session)) as reader:
        for r in reader.read(1):
            if first_tick is None and isinstance(r, TickStarted):
                first_tick = r.ts
            fields = {f: getattr(r, f) for f in r.__struct_fields__ if f not in UNEQUAL}
            fields["ts"] = None if first_tick is None else r.ts - first_tick
            records.append({"kind": type(r).__name__} | fields)
    return records


def first_difference(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> str:
    for x, y in zip(a, b, strict=False):
        if x != y:
            fields = sorted(k for k in x.keys() | y.keys() if x.get(k) != y.get(k))
            shown = {k: (x.get(k), y.get(k)) for k in fields if k != "config"}
            return f"seq {x.get('seq')} ({x['kind']}, {y['kind']}) differs in {shown}"
    return f"{len(a)} records against {len(b)}"


def test_a_loaded_machine_changes_no_standing(tmp_path: Path) -> None:
    entries = [(roster.example(role), True) for role in ROLES]
    settings = heat.Settings(ticks=15)
    quiet = heat.run(1, 11, entries, tmp_path / "quiet", settings)
    burners = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
    try:
        loaded = heat.run(1, 11, entries, tmp_path / "loaded", settings)
    finally:
        for b in burners:
            b.kill()
            b.wait()
    print(f"quiet {quiet['wall_seconds']} s, loaded {loaded['wall_seconds']} s")
    assert all(t["failed"] is None for t in quiet["teams"]), quiet
    assert standings(quiet) == standings(loaded)
    calm, busy = log(tmp_path / "quiet", quiet), log(tmp_path / "loaded", loaded)
    assert calm == busy, first_difference(calm, busy)
