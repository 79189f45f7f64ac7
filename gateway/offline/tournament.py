"""``tradepit tournament``: heats of bots against fresh sessions, ranked across heats.

Each heat is a new ``tradepit serve`` session (embedded defaults with ``PRE_OPEN_TICKS``
pre-open ticks for the bots to register in, or ``--config``) with
its own seed (``--seed`` + heat number), its own data directory and port. The bots (the
four example bots of the bot kit by default, or ``--bot`` files) run as separate
processes for ``--ticks`` ticks each, then the session is stopped cleanly and scored
by the same scorer as ``tradepit results``, as of the seq at which the first bot finished
its ticks (``_first_exit``). Teams are ranked within their role in each
heat; the tournament ranks them by the sum of their ranks across heats (lowest first,
as in the Rotman competitions). Every heat's session directory is printed, so any of
them can be replayed (``tradepit replay verify DIR``).

The bots talk to the server over the network only; this module starts and stops
processes and reads the log, so it needs none of the bot kit's dependencies.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.ports import free_port
from gateway.offline import results
from gateway.offline.serve_child import ServeChild

EXAMPLES = ("market_maker", "hedge_fund", "arbitrage", "retail")


@dataclass
class Heat:
    number: int
    seed: int
    session: Path
    board: dict[str, Any]
    bot_codes: dict[str, int]


def _bot_command(bot: str, url: str, name: str, key: Path, ticks: int, seed: int) -> list[str]:
    target = ["-m", f"tradepit.examples.{bot}"] if bot in EXAMPLES else [bot]
    return [sys.executable, *target, "--url", url, "--name", name, "--key-file", str(key),
            "--ticks", str(ticks), "--seed", str(seed)]  # fmt: skip


def _bot_name(bot: str) -> str:
    return f"ex-{bot}" if bot in EXAMPLES else Path(bot).stem


def _server(data_dir: Path, port: int, seed: int, config: Path | None) -> ServeChild:
    """``tradepit serve`` as a child; its output to a file, its banner awaited."""
    cmd = [sys.executable, "-m", "engine.cli", "serve", "--new", "--port", str(port),
           "--data-dir", str(data_dir), "--seed", str(seed)]  # fmt: skip
    if config is not None:
        cmd += ["--config", str(config)]
    data_dir.mkdir(parents=True, exist_ok=True)
    return ServeChild(cmd, data_dir / "serve.out")


def _tick(url: str) -> int:
    with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
        tick: int = json.loads(r.read())["data"]["tick_number"]
        return tick


#: Without ``--config``, the heats open after this many pre-open ticks: the bots are
#: started with the server and take a few seconds to register; with the defaults' two
#: ticks they joined a market already trading, and a market maker's first rolling
#: window held ticks before it could quote anything (as teams of a real competition
#: do, they register before the open)
PRE_OPEN_TICKS = 10


def _heat_config(args: argparse.Namespace, folder: Path) -> Path | None:
    if args.config is not None:
        return Path(args.config)
    path = folder / "tournament.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[schedule]\npre_open_ticks = {PRE_OPEN_TICKS}\n", encoding="utf-8")
    return path


def run_heat(number: int, args: argparse.Namespace, root: Path) -> Heat:
    seed = args.seed + number
    port = free_port()
    folder = root / f"heat-{number}"
    server = _server(folder, port, seed, _heat_config(args, folder))
    url = f"http://127.0.0.1:{port}"
    codes: dict[str, int] = {}
    try:
        if not server.ready.wait(120) or server.proc.poll() is not None or server.session is None:
            raise RuntimeError(f"heat {number}: the server did not start (see {server.log})")
        keys = root / f"heat-{number}" / "keys"
        keys.mkdir(exist_ok=True)
        bots: dict[str, subprocess.Popen[bytes]] = {}
        for bot in args.bot or EXAMPLES:
            name = _bot_name(bot)
            out = (keys / f"{name}.out").open("wb")
            cmd = _bot_command(bot, url, name, keys / f"{name}.key", args.ticks, seed)
            bots[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
            out.close()
        # each bot stops after its ticks; allow their length twice over, then stop them
        ticks = args.ticks + (PRE_OPEN_TICKS if args.config is None else 0)
        deadline = time.monotonic() + 60 + 2 * ticks * args.tick_seconds
        end_seq = _first_exit(bots, deadline, url)
        for name, proc in bots.items():
            try:
                codes[name] = proc.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.terminate()
                codes[name] = proc.wait()
        print(f"heat {number}: tick {_tick(url)}, bots exited {codes}, scored at seq {end_seq}",
              flush=True)  # fmt: skip
    finally:
        server.stop()
    session = server.session
    board = results.standings(results.score(session, end_seq))
    return Heat(number, seed, session, board, codes)


def _first_exit(bots: dict[str, subprocess.Popen[bytes]], deadline: float, url: str) -> int:
    """The log seq when the first bot finished its ticks (exit 0): the heat is scored there.

    The bots started together but registered a few seconds apart, and each counts its
    ticks from its own start; a team that stopped trading would otherwise be scored over
    the ticks the slowest bot still ran (a market maker's quotes swept and never
    replaced, its last window breached)."""
    while time.monotonic() < deadline:
        states = [p.poll() for p in bots.values()]
        if 0 in states or None not in states:  # one finished (a failed one does not count)
            break
        time.sleep(0.05)  # a runner's wait on child processes, not a test's
    return _seq(url)


def _seq(url: str) -> int:
    """The log seq the server's answers reflect (every answer's ``X-Log-Seq``)."""
    with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
        return int(r.headers["X-Log-Seq"])


def overall(heats: list[Heat]) -> list[dict[str, Any]]:
    """Each team's rank in each heat and their sum, best (lowest sum) first within role."""
    teams: dict[tuple[str, str], list[int | None]] = {}
    for i, heat in enumerate(heats):
        for role, rows in heat.board["roles"].items():
            for row in rows:
                ranks = teams.setdefault((role, row["team_name"]), [None] * len(heats))
                ranks[i] = row["rank"]
    table = []
    for (role, name), ranks in teams.items():
        # a heat the team missed counts as last in its role plus one
        worst = [1 + max(len(h.board["roles"].get(role, [])) for h in heats)]
        total = sum(r if r is not None else worst[0] for r in ranks)
        table.append({"role": role, "team_name": name, "ranks": ranks, "sum": total})
    table.sort(key=lambda t: (t["role"], t["sum"], t["team_name"]))
    return table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--heats", type=int, default=1, help="sessions to run, one seed each")
    parser.add_argument("--ticks", type=int, default=200, help="ticks each bot trades a heat")
    parser.add_argument("--seed", type=int, default=1, help="heat N runs with seed + N")
    parser.add_argument("--bot", action="append", default=None, metavar="FILE",
                        help="a bot script (repeat; default: the four example bots)")  # fmt: skip
    parser.add_argument("--config", type=Path, default=None, help="a session config for every heat")
    parser.add_argument("--tick-seconds", type=float, default=1.0,
                        help="the tick length of the config: bounds a heat's time")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=Path("data/tournament"),
                        help="heats go under DATA_DIR/TIME/heat-N")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.heats < 1 or args.ticks < 1:
        print("error: --heats and --ticks must be at least 1", file=sys.stderr)
        return 2
    root = args.data_dir / time.strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    heats = [run_heat(n, args, root) for n in range(1, args.heats + 1)]
    for heat in heats:
        print(f"\n== heat {heat.number} (seed {heat.seed}): {heat.session}")
        results.render(heat.board, sys.stdout)
    print(f"\n== tournament: {len(heats)} heats, ranked by the sum of ranks within each role")
    print(f"  {'role':<14} {'team':<24} {'ranks':<20} {'sum':>4}")
    for t in overall(heats):
        ranks = " ".join("-" if r is None else str(r) for r in t["ranks"])
        print(f"  {t['role']:<14} {t['team_name'][:24]:<24} {ranks:<20} {t['sum']:>4}")
    print("\nsessions (replay any with `tradepit replay verify DIR`):")
    for heat in heats:
        print(f"  heat {heat.number}: {heat.session}")
    failed = {n: c for h in heats for n, c in h.bot_codes.items() if c != 0}
    if failed:
        print(f"bots that failed: {failed}", file=sys.stderr)
        return 1
    return 0
