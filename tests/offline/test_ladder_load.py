"""Under twice the CPU load, a ladder heat's standings are identical: the limits are CPU
time and lockstep ticks, not wall time.

The same heat (same seed, the four example bots) runs twice: alone, then beside two
processes that spin on both cores of the machine. The bots' per-tick budget is their
own CPU time and a tick waits for every bot, so the busy machine only slows the heat
down; it changes no standing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.records import ROLES
from gateway.offline.ladder import heat, roster

BUSY = "while True: pass"


def standings(record: dict[str, object]) -> dict[str, tuple[object, ...]]:
    teams = record["teams"]
    assert isinstance(teams, list)
    return {t["name"]: (t["team_id"], t["rank"], t["standing"], t["score"], t["failed"])
            for t in teams}  # fmt: skip


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
