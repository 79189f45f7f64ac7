"""One ladder heat: a fresh lockstep session, the chosen bots under limits, the result.

1. A new session (``tradepit serve --new``) with ``[schedule] clock = "lockstep"``: a
   tick starts once every bot said it is done with the last one, so the heat runs as
   fast as its bots think, and the same bots and seed give the same standings however
   loaded the machine (no wall time enters the log's decisions while the bots keep
   within their budgets).
2. The ladder registers the teams itself, in a fixed order (role, then name), so team
   ids do not depend on which bot started first; each bot gets its key in
   ``TRADEPIT_API_KEY`` (the bot kit's backtest path: docs/backtest.md).
3. While the session runs, the ladder watches each bot: it exits before the close, or
   spends more CPU time in one tick than the budget (``sandbox.Limits``), or the heat
   passes its wall-clock ceiling: the bot is stopped, its team disabled through the
   admin route (so the lockstep clock stops waiting for it: the heat goes on, and the
   log says so), and the reason is recorded.
4. At the close, the standings (``tradepit results``' scorer); within each role, the
   failed teams rank after every other team. ``heat.json`` holds it all.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import log as logmod
from engine.ports import free_port
from engine.records import ROLES, TickBudgetExpired
from gateway.offline import results
from gateway.offline.ladder import sandbox
from gateway.offline.ladder.roster import Entry
from gateway.offline.serve_child import ServeChild

POLL_SECONDS = 0.05  # the runner's look at its children (a CLI's loop, not a test's)


@dataclass(frozen=True)
class Settings:
    ticks: int = 30  # continuous ticks per heat
    wall_tick_seconds: float = 20.0  # the lockstep budget: only a hung bot meets it
    wall_ceiling_seconds: float = 300.0  # per heat, start-up included
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)


def config_text(settings: Settings) -> str:
    return (
        "[schedule]\n"
        'clock = "lockstep"\n'
        f"tick_budget_seconds = {settings.wall_tick_seconds}\n"
        "pre_open_ticks = 1\n"
        "auction_ticks = 1\n"
        f"continuous_ticks = {settings.ticks}\n"
        "\n[log]\n"
        'fsync = "off"\n'  # a heat is made again by running it again
    )


def _server(folder: Path, port: int, seed: int, token: str) -> ServeChild:
    """``tradepit serve --new`` with the admin token in its environment only."""
    cmd = [sys.executable, "-m", "engine.cli", "serve", "--new", "--port", str(port),
           "--host", "127.0.0.1", "--data-dir", str(folder / "data"), "--seed", str(seed),
           "--config", str(folder / "heat.toml")]  # fmt: skip
    env = {**os.environ, "TRADEPIT_ADMIN_TOKEN": token}
    return ServeChild(cmd, folder / "serve.out", env=env, new_session=True)


def _call(url: str, path: str, body: dict[str, Any] | None = None,
          headers: dict[str, str] | None = None) -> Any:  # fmt: skip
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url + path, data=data, method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["data"]


@dataclass
class _Seat:
    entry: Entry
    team_id: str
    rated: bool
    proc: subprocess.Popen[bytes] | None = None
    failed: str | None = None
    exit_code: int | None = None
    cpu: float = 0.0
    tick_base: float = 0.0


def run(
    number: int, seed: int, entries: list[tuple[Entry, bool]], folder: Path, settings: Settings,
    rated: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Run one heat in ``folder``; ``entries`` are (bot, rated) in any order."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bots").mkdir(exist_ok=True)
    (folder / "heat.toml").write_text(config_text(settings), encoding="utf-8")
    token = secrets.token_hex(16)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.time()
    server = _server(folder, port, seed, token)
    seats: list[_Seat] = []
    try:
        if not server.ready.wait(60) or server.session is None or server.proc.poll() is not None:
            raise RuntimeError(f"heat {number}: the server did not start (see {server.log})")
        order = sorted(entries, key=lambda e: (ROLES.index(e[0].role), e[0].name))
        env_base = {k: v for k, v in os.environ.items() if k != "TRADEPIT_ADMIN_TOKEN"}
        keys = []
        for entry, team_rated in order:
            reg = _call(url, "/game/teams/register", {"team_name": entry.name, "role": entry.role})
            seats.append(_Seat(entry, reg["team_id"], team_rated))
            keys.append(reg["api_key"])
        for seat, key in zip(seats, keys, strict=True):
            env = {**env_base, "TRADEPIT_URL": url, "TRADEPIT_WS_URL": f"ws://127.0.0.1:{port}/ws",
                   "TRADEPIT_API_KEY": key, "TRADEPIT_SEED": str(seed),
                   "PYTHONUNBUFFERED": "1"}  # fmt: skip
            seat.proc = sandbox.start(
                seat.entry.command, env, folder / "bots" / seat.entry.name, settings.limits
            )
        _supervise(url, token, seats, settings, started, server.session)
    finally:
        for seat in seats:
            if seat.proc is not None:
                code = sandbox.stop(seat.proc)
                seat.exit_code = code if seat.exit_code is None else seat.exit_code
        server.stop()
    assert server.session is not None
    board = results.standings(results.score(server.session))
    (folder / "results.json").write_text(json.dumps(board, indent=1) + "\n")
    record = outcome(number, seed, seats, board, rated)
    record |= {"session": str(server.session.relative_to(folder)), "started": round(started, 3),
               "wall_seconds": round(time.time() - started, 3)}  # fmt: skip
    return record


def _hung(session: Path, after: int) -> tuple[int, dict[str, int]]:
    """The teams the lockstep clock's wall budget ran out on since ``after`` (seq), by
    tick: a bot that neither finishes a tick nor burns CPU (blocked, asleep)."""
    late: dict[str, int] = {}
    seq = after
    with logmod.open_reader(logmod.log_directory(session)) as reader:
        for record in reader.read(after + 1):
            seq = record.seq
            if isinstance(record, TickBudgetExpired):
                late |= dict.fromkeys(record.team_ids, record.tick_number)
    return seq, late


def _supervise(
    url: str, token: str, seats: list[_Seat], settings: Settings, started: float,
    session: Path,
) -> None:  # fmt: skip
    read_to = 0
    tick_seen = -1
    opened = False  # a new session is "closed" until its first phase change
    deadline = started + settings.wall_ceiling_seconds
    while True:
        health = _call(url, "/health")
        tick = int(health["tick_number"])
        if health["phase"] == "closed" and opened:
            break
        opened = opened or health["phase"] != "closed"
        live = [s for s in seats if s.proc is not None and s.failed is None]
        cpu = sandbox.cpu_seconds({s.proc.pid for s in live if s.proc is not None})
        for seat in live:
            assert seat.proc is not None
            seat.cpu = max(seat.cpu, cpu.get(seat.proc.pid, 0.0))
            if tick != tick_seen:
                seat.tick_base = seat.cpu
        tick_seen = tick
        read_to, late = _hung(session, read_to)
        for seat in live:
            assert seat.proc is not None
            code = seat.proc.poll()
            # ticks 0 and 1: the bot starts (imports, connects) inside them
            budget = (
                settings.limits.start_cpu_seconds if tick <= 1 else settings.limits.tick_cpu_seconds
            )
            used = seat.cpu - seat.tick_base
            if code is not None:
                seat.exit_code = code
                why = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
                _fail(url, token, seat, f"crashed at tick {tick} ({why}; see its .err)")
            elif seat.team_id in late:
                _fail(url, token, seat, f"hung at tick {late[seat.team_id]}: not done within "
                      f"{settings.wall_tick_seconds:g} s of wall time")  # fmt: skip
            elif used > budget:
                _fail(url, token, seat, f"over the CPU budget at tick {tick}: "
                      f"{used:.2f} s of CPU in one tick (budget {budget:g} s)")  # fmt: skip
            elif time.time() > deadline:
                _fail(url, token, seat, f"the heat's wall-clock ceiling "
                      f"({settings.wall_ceiling_seconds:g} s) passed at tick {tick}")  # fmt: skip
        if time.time() > deadline:
            return
        time.sleep(POLL_SECONDS)
    # after the close the bots exit on their own (the kit does); bounded
    end = time.time() + 10
    for seat in seats:
        if seat.proc is not None and seat.failed is None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # then the caller stops it
                seat.exit_code = seat.proc.wait(max(0.1, end - time.time()))


def _fail(url: str, token: str, seat: _Seat, why: str) -> None:
    seat.failed = why
    assert seat.proc is not None
    code = sandbox.stop(seat.proc)
    seat.exit_code = code if seat.exit_code is None else seat.exit_code
    # the lockstep clock waits for every enabled team: a disabled one no longer holds
    # the heat up, and the log records when it left
    _call(url, f"/admin/teams/{seat.team_id}/disable", {}, {"X-Admin-Token": token})


def outcome(
    number: int, seed: int, seats: list[_Seat], board: dict[str, Any], rated: bool
) -> dict[str, Any]:
    """Each team's place in its role: by the standings, the failed ones after the rest."""
    standing = {row["team_id"]: row for rows in board["roles"].values() for row in rows}
    teams = []
    for seat in seats:
        row = standing.get(seat.team_id, {})
        failed = seat.failed
        teams.append({
            "name": seat.entry.name, "version": seat.entry.version, "role": seat.entry.role,
            "team_id": seat.team_id, "standing": row.get("rank"), "score": row.get("score"),
            "failed": failed, "exit_code": seat.exit_code, "cpu_seconds": round(seat.cpu, 2),
            "rated": seat.rated and rated, "out": f"bots/{seat.entry.name}.out",
            "err": f"bots/{seat.entry.name}.err",
        })  # fmt: skip
    for role in ROLES:
        mine = [t for t in teams if t["role"] == role]
        ok = sorted(
            (t for t in mine if not t["failed"]),
            key=lambda t: (t["standing"] or 1 << 30, t["name"]),
        )
        for place, t in enumerate(ok, 1):
            t["rank"] = place
        for t in mine:
            if t["failed"]:
                t["rank"] = len(ok) + 1  # the failed ones tie for last
    return {"number": number, "seed": seed, "rated": rated, "teams": teams,
            "session_id": board["session_id"]}  # fmt: skip
