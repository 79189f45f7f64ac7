"""A small ladder directory written as the runner writes one, without running a heat.

Four bots in two roles, two rated heats (in the second ``alpha`` crashed) and a void
one, each bot's output, and a file outside the ladder that a symlink in a heat's
``bots`` folder points at: what a bot could leave in place of its own output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.offline.ladder import roster

BOTS = {"alpha": "market_maker", "beta": "market_maker", "gamma": "hedge_fund",
        "delta": "hedge_fund"}  # fmt: skip
CRASH = "crashed at tick 3 (exit 1; see its .err)"
SESSION = "data/session-20261204-101500"
#: The file outside the ladder; heat 2's ``bots/sneaky.out`` is a symlink to it.
SECRET = "outside the ladder: never served\n"


def team(name: str, rank: int, failed: str | None = None, role: str = "") -> dict[str, Any]:
    """A team's line in ``heat.json``: version ``v-NAME``, role ``BOTS[name]`` by default."""
    return {"name": name, "version": f"v-{name}", "role": role or BOTS[name],
            "team_id": "TEAM_0001", "standing": rank, "score": 100.0 / rank, "failed": failed,
            "exit_code": 1 if failed else 0, "cpu_seconds": 0.5, "rated": True,
            "out": f"bots/{name}.out", "err": f"bots/{name}.err", "rank": rank}  # fmt: skip


def write_heat(root: Path, record: dict[str, Any]) -> Path:
    folder = root / "heats" / f"heat-{record['number']:04d}"
    (folder / "bots").mkdir(parents=True)
    (folder / "heat.json").write_text(json.dumps(record, indent=1) + "\n")
    for t in record["teams"]:
        (folder / "bots" / f"{t['name']}.out").write_text(
            f"{t['name']} in heat {record['number']}\n"
        )
        err = f"Traceback: {t['name']} failed\n" if t["failed"] else ""
        (folder / "bots" / f"{t['name']}.err").write_text(err)
    if record["session"]:
        (folder / record["session"] / "log").mkdir(parents=True)
    return folder


def heat(number: int, teams: list[dict[str, Any]]) -> dict[str, Any]:
    """A rated heat's ``heat.json``, a minute after the one before."""
    return {"number": number, "seed": number + 1, "rated": True, "teams": teams,
            "session_id": SESSION.rsplit("/", 1)[1], "session": SESSION,
            "started": 1_796_378_040.0 + 60 * number, "wall_seconds": 9.5}  # fmt: skip


def make_ladder(root: Path) -> Path:
    roster.save(root, {n: roster.Entry(n, r, f"run {n}", f"v-{n}", 0.0) for n, r in BOTS.items()})
    write_heat(root, heat(1, [team("alpha", 1), team("beta", 2), team("gamma", 1),
                              team("delta", 2)]))  # fmt: skip
    second = write_heat(root, heat(2, [team("beta", 1), team("alpha", 2, CRASH),
                                       team("delta", 1), team("gamma", 2)]))  # fmt: skip
    write_heat(root, {"number": 3, "seed": 4, "rated": False, "teams": [], "void": "no server",
                      "started": 1_796_378_220.0, "session": ""})  # fmt: skip
    secret = root.parent / "secret.txt"
    secret.write_text(SECRET)
    (second / "bots" / "sneaky.out").symlink_to(secret)
    return root
