"""``tradepit ladder DIR``: run the ladder, add a bot, print or recompute the table.

- ``tradepit ladder DIR --add NAME --role ROLE --bot "COMMAND"`` adds (or replaces) a
  bot; a ``.py`` file runs with this Python. It may be done while the ladder runs.
- ``tradepit ladder DIR`` runs heats one after another (``--heats N``: N, then stop).
- ``tradepit ladder DIR --table`` prints the ratings; ``--recompute`` folds every
  stored heat again and says whether that is the stored table, and how far the places
  move when the same heats are folded in other orders.
- ``tradepit ladder DIR --practice NAME``: one unrated heat of NAME against the bot
  kit's example bots, under ``DIR/practice``.
- ``tradepit ladder DIR --serve PORT``: the ladder's read-only JSON and page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from engine.records import ROLES
from gateway.offline.ladder import heat, ratings, roster, sandbox, schedule, view, web


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="the ladder's directory (made if new)")
    parser.add_argument("--heats", type=int, default=0, help="stop after N heats (0: run on)")
    parser.add_argument("--add", metavar="NAME", help="add or replace a bot (with --role, --bot)")
    parser.add_argument("--role", choices=ROLES)
    parser.add_argument("--bot", metavar="COMMAND", help="a shell command or a .py file")
    parser.add_argument("--table", action="store_true", help="print the ratings")
    parser.add_argument("--json", action="store_true", help="--table as JSON")
    parser.add_argument("--recompute", action="store_true", help="fold the stored heats again")
    parser.add_argument("--practice", metavar="NAME", help="an unrated heat against the examples")
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve the ladder read-only")
    parser.add_argument("--ticks", type=int, default=30, help="continuous ticks per heat (30)")
    parser.add_argument("--seed", type=int, default=1, help="heat N runs with seed + N")
    parser.add_argument("--per-role", type=int, default=2, help="teams of a role per heat (2)")
    parser.add_argument(
        "--cap-per-hour", type=int, default=0, help="ranked heats per team (0: no cap)"
    )
    parser.add_argument("--tick-cpu", type=float, default=0.5, help="CPU seconds per tick (0.5)")
    parser.add_argument(
        "--loopback-only", action="store_true", help="run in a network namespace (unshare -rn)"
    )
    parser.add_argument("--wall-ceiling", type=float, default=300.0, help="seconds per heat (300)")


def settings_of(args: argparse.Namespace) -> heat.Settings:
    limits = sandbox.Limits(tick_cpu_seconds=args.tick_cpu)
    return heat.Settings(ticks=args.ticks, wall_ceiling_seconds=args.wall_ceiling, limits=limits)


def run(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if args.add:
        if not (args.role and args.bot):
            print("error: --add NAME needs --role ROLE and --bot COMMAND", file=sys.stderr)
            return 2
        try:
            entry = roster.add(root, args.add, args.role, args.bot)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{entry.name} ({entry.role}) version {entry.version}: {entry.command}")
        return 0
    if args.table or args.recompute:
        return table(root, args.recompute, args.json)
    if args.serve is not None:
        web.serve(root, args.serve)
        return 0
    if args.practice:
        return practice(root, args.practice, args)
    if args.loopback_only and os.environ.get(NETNS_ENV) != "1":
        return _in_namespace()
    return run_heats(root, args)


NETNS_ENV = "TRADEPIT_LADDER_NETNS"


def _in_namespace() -> int:
    """Run this same command again in a new user and network namespace (no root needed
    where unprivileged user namespaces are on): its only interface is loopback, so the
    heats' servers and bots reach each other and nothing else."""
    unshare = shutil.which("unshare")
    if unshare is None:
        print("error: --loopback-only needs unshare (util-linux)", file=sys.stderr)
        return 2
    up = 'ip link set lo up && exec "$0" "$@"'
    argv = [unshare, "-rn", "sh", "-c", up, sys.executable, "-m", "engine.cli", *sys.argv[1:]]
    env = {**os.environ, NETNS_ENV: "1"}
    return subprocess.run(argv, env=env, check=False).returncode


def table(root: Path, recompute: bool, as_json: bool) -> int:
    shown = view.Ladder(root).table()
    if not recompute:
        print(json.dumps(shown, indent=1) if as_json else ratings.render(shown))
        return 0
    stored_path = root / "table.json"
    stored = json.loads(stored_path.read_text()) if stored_path.exists() else []
    heats = ratings.heats_of(root)
    moved = ratings.order_sensitivity(heats, orders=20, seed=1)
    print(ratings.render(shown))
    same = stored == shown
    verdict = "the same as the stored table" if same else "DIFFERENT from the stored table"
    print(f"\nrecomputed from {len(heats)} heats: {verdict}")
    print(f"folded in 20 other orders: a bot's place moves by {moved} at most")
    return 0 if same else 1


def _ladder_seed(root: Path, seed: int) -> int:
    """The first run's --seed stays the ladder's: heat N always runs with seed + N."""
    path = root / "ladder.json"
    if path.exists():
        return int(json.loads(path.read_text())["seed"])
    path.write_text(json.dumps({"seed": seed}) + "\n")
    return seed


#: Void heats in a row (the server failed, not a bot) before the ladder stops
MAX_VOID_IN_A_ROW = 3


def run_heats(root: Path, args: argparse.Namespace) -> int:
    root.mkdir(parents=True, exist_ok=True)
    seed = _ladder_seed(root, args.seed)
    rules = schedule.Rules(per_role=args.per_role, cap_per_hour=args.cap_per_hour)
    settings = settings_of(args)
    done = errors = 0
    while args.heats <= 0 or done < args.heats:
        heats = ratings.heats_of(root)
        state = ratings.fold(heats)
        bots = roster.load(root)  # again before each heat: --add works while it runs
        try:
            chosen = schedule.pick(bots, state, rules, schedule.recent_heats(heats, time.time()))
        except schedule.NoHeat as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        number = 1 + max((int(h["number"]) for h in heats), default=0)
        folder = root / "heats" / f"heat-{number:04d}"
        try:
            record = heat.run(number, seed + number, chosen, folder, settings)
        except Exception as exc:
            # the heat's server, not a bot, failed: the heat counts for nobody. Stop only
            # when it keeps happening (a broken install would loop for ever)
            errors += 1
            print(f"heat {number}: void: {exc}", file=sys.stderr, flush=True)
            record = {"number": number, "seed": seed + number, "rated": False, "teams": [],
                      "void": str(exc), "started": time.time(), "session": ""}  # fmt: skip
            folder.mkdir(parents=True, exist_ok=True)
            _write(folder / "heat.json", record)
            if errors >= MAX_VOID_IN_A_ROW:
                return 1
            continue
        errors = 0
        _write(folder / "heat.json", record)
        ratings.apply(state, record)  # the same fold --recompute does, one heat on
        _write(root / "table.json", ratings.rows(state, roster.current(root)))
        print(summary(record), flush=True)
        done += 1
    return 0


def practice(root: Path, name: str, args: argparse.Namespace) -> int:
    entry = roster.load(root).get(name)
    if entry is None:
        print(f"error: no bot {name!r} in the roster", file=sys.stderr)
        return 2
    # the examples of every role, the bot's own included: an opponent in its role
    others = [(ex, False) for ex in map(roster.example, ROLES) if ex.name != entry.name]
    folder = root / "practice" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    record = heat.run(
        0, args.seed, [(entry, False), *others], folder, settings_of(args), rated=False
    )
    _write(folder / "heat.json", record)
    print(summary(record))
    return 0


def _write(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def summary(record: dict[str, Any]) -> str:
    teams = ", ".join(
        f"{t['name']} {t['role']} #{t['rank']}" + (f" FAILED: {t['failed']}" if t["failed"] else "")
        for t in record["teams"]
    )
    return f"heat {record['number']} (seed {record['seed']}, {record['wall_seconds']} s): {teams}"
