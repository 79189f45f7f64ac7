"""``./scripts/bench backtest``: a backtest of a recorded day with the example market maker.

A day is recorded in process: the default config with one tick a second and 2,000
ticks of continuous trading (so 2,003 ticks, 2,003 s of recorded session time), the
house and retail on, and one registered team whose market orders every 20 ticks are
the "others" a fork replays. Then:

* ``replay verify`` of the day, in process: ``replay_verify_records_per_s``;
* a fork at the day's midpoint, in process: the prefix is re-executed and copied at
  ``prefix_records_per_s`` (the same re-execution as ``verify``, plus the copy; the
  reading of the parent's second half into the fork's script is not in it);
* ``tradepit backtest DAY --at-tick 0 --role market_maker --bot "python -m
  tradepit.examples.market_maker"``, real processes: the whole day in lockstep. Its
  ``speedup_vs_recorded`` is the day's recorded time over the wall time from the
  fork's first tick to its close (start-up is ``wall_seconds`` beside it).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from engine import config as configmod
from engine import log as logmod
from engine.core.exchange import Exchange
from engine.records import (
    Command,
    Record,
    RegisterTeam,
    StartSession,
    SubmitOrder,
    stamp,
)
from engine.replay.fork import ForkOptions, fork, hash_key
from engine.replay.verify import verify
from engine.shell.driver import Driver

TICK_NS = 1_000_000_000
START_NS = 1_800_000_000 * TICK_NS


def record_day(directory: Path, continuous: int) -> tuple[int, int]:
    """A day as the engine would record it on a one-second clock: (records, ticks)."""
    config = configmod.load(None, schedule={"continuous_ticks": continuous})
    start = StartSession(session_id="bench-day", seed=7, config=configmod.canonical_json(config),
                         config_hash=configmod.config_hash(config))  # fmt: skip
    core = Exchange(config, 7, "bench-day")
    driver = Driver(config.schedule)
    seq, ts, records = 0, START_NS, 0
    with logmod.open_writer(directory, config.log) as writer:

        def apply(commands: list[Command]) -> None:
            nonlocal seq, records
            batch: list[Record] = []
            for command in commands:
                stamped = stamp(command, seq + 1, max(command.ts, ts))
                events = core.apply(stamped)
                batch += [stamped, *events]
                seq += 1 + len(events)
            writer.append(batch)
            records += len(batch)

        apply([start, RegisterTeam(team_name="recorded-fund", role="hedge_fund",
                                   api_key_hash=hash_key("recorded"))])  # fmt: skip
        while (step := driver.step(core.tick_number, core.phase, ts, virtual=True)) is not None:
            ts = max(c.ts for c in step)
            if core.tick_number % 20 == 5 and core.phase == "continuous":
                side = "buy" if core.tick_number % 40 == 5 else "sell"
                step.append(SubmitOrder(team_id="TEAM_0001", instrument_id="SPX", side=side,
                                        quantity=2, order_type="market", ts=ts))  # fmt: skip
            apply(step)
    return records, core.tick_number


def run(quick: bool) -> dict[str, Any]:
    continuous = 300 if quick else 2000
    with tempfile.TemporaryDirectory() as tmp:
        day = Path(tmp) / "day"
        records, ticks = record_day(day / "log", continuous)
        (day / "config.toml").write_text(f"[schedule]\ncontinuous_ticks = {continuous}\n")

        started = time.perf_counter()
        assert verify(day, out=io.StringIO()) == 0
        verify_rate = records / (time.perf_counter() - started)

        made = fork(day, Path(tmp) / "mid", ForkOptions(at_tick=ticks // 2))
        prefix_rate = made.parent_seq / made.prefix_seconds

        out = Path(tmp) / "run"
        bot = f"{sys.executable} -m tradepit.examples.market_maker"
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli", "backtest", str(day), "--at-tick", "0",
             "--role", "market_maker", "--bot", bot, "--out", str(out), "--tick-budget", "5"],
            capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(done.stdout + done.stderr + (out / "bot.log").read_text()[-2000:])
        report = json.loads((out / "report.json").read_text())
    figures = {
        "recorded_ticks": ticks,
        "recorded_records": records,
        "recorded_seconds": report["recorded_seconds"],
        "backtest_ticks": report["ticks"],
        "backtest_ticking_seconds": report["ticking_seconds"],
        "backtest_wall_seconds": report["wall_seconds"],
        "ticks_per_s": report["ticks_per_second"],
        "speedup_vs_recorded": report["speedup_vs_recorded"],
        "late_ticks": report["late_ticks"],
        "bot_trades": (report["fork"] or {}).get("trades"),
        "prefix_records": made.parent_seq,
        "prefix_records_per_s": round(prefix_rate),
        "replay_verify_records_per_s": round(verify_rate),
    }
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:>14}")
    return figures
