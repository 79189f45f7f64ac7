"""A day's log made without an engine, written to disk, and a real gateway over it.

A log written here is what the engine would have written for a day (its records,
stamped), without running the engine for hours: a test makes a 6-hour day in seconds
and starts a real ``tradepit gateway`` on it, which folds it as it would a live one.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from engine import config as configmod
from engine import log as logmod
from engine.ports import free_port
from engine.records import (
    AnyRecord,
    ChangePhase,
    ClockTick,
    PhaseChanged,
    Record,
    StartSession,
    TeamRegistered,
    TickStarted,
    UnderlyingPrices,
    stamp,
)
from tests.procs import Proc, wait_until

DAY = 6 * 3600  # ticks in a 6-hour day at one a second, the default tick_seconds
ROLES = ("hedge_fund", "arbitrage", "retail", "market_maker")
TICK_NS = 1_000_000_000
#: Records a log append takes at once: a day is never held in memory whole.
BATCH = 20_000


def api_key(team: int) -> str:
    """The key of idle team number ``team`` of a day made here."""
    return f"k{team}"


def idle_team(i: int) -> TeamRegistered:
    return TeamRegistered(
        team_id=f"T{i:05d}",
        team_name=f"idle-{i}",
        role=ROLES[i % 4],
        api_key_hash=hashlib.sha256(api_key(i).encode()).hexdigest(),
    )


def scored_day(teams: int, ticks: int) -> list[AnyRecord]:
    """A session's records: ``teams`` idle bot teams (every role in turn), then
    ``ticks`` scored ticks as the engine writes them (``clock_tick``, ``tick_started``,
    ``underlying_prices``): each gives every team a score row and a ``score_update``,
    and the public stream a leaderboard at each burst."""
    config = configmod.Config()
    records: list[AnyRecord] = [
        StartSession(session_id="day", seed=1, config=configmod.canonical_json(config),
                     config_hash=configmod.config_hash(config)),
        *(idle_team(i) for i in range(teams)),
        ChangePhase(phase="continuous"),
        PhaseChanged(phase="continuous", previous="closed"),
    ]  # fmt: skip
    out = [stamp(r, seq, seq) for seq, r in enumerate(records, 1)]
    seq = len(out)
    for tick in range(1, ticks + 1):
        ts = tick * TICK_NS
        price = 440_000 + (tick * 7919) % 2000  # marks move: P&L is recomputed each tick
        for r in (
            ClockTick(),
            TickStarted(tick_number=tick, phase="continuous", digest="d"),
            UnderlyingPrices(tick_number=tick, spx=price * 10, spy=price, regime="calm"),
        ):
            seq += 1
            out.append(stamp(r, seq, ts + seq))
    return out


def ticks_up_to(records: list[AnyRecord], tick: int) -> int:
    """How many of ``scored_day``'s records come before tick ``tick + 1``."""
    ticks = sum(isinstance(r, ClockTick) for r in records)
    return len(records) - 3 * (ticks - tick)


def write_log(directory: Path, records: Iterable[Record]) -> int:
    """Append stamped ``records`` to the log in ``directory`` (made if missing, else
    continued, as an engine restarting on it would); the log's head seq."""
    with logmod.open_writer(directory, configmod.load(None).log) as writer:
        source = iter(records)
        while batch := list(itertools.islice(source, BATCH)):
            writer.append(batch)
        return writer.head_seq


def rss_kib(pid: int) -> int:
    """A process's resident memory now, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@dataclass
class RunningGateway:
    proc: Proc
    url: str

    @property
    def pid(self) -> int:
        return self.proc.proc.pid

    def applied_seq(self) -> int:
        seq: int = httpx.get(f"{self.url}/health", timeout=30).json()["data"]["applied_seq"]
        return seq

    def wait_applied(self, head: int, timeout: float = 300) -> None:
        """Until the gateway has folded the log up to ``head``."""
        wait_until(lambda: self.applied_seq() >= head, timeout, f"the gateway to fold to {head}")

    def metrics(self) -> dict[str, float]:
        """``/metrics`` as name (with its labels) -> value."""
        text = httpx.get(f"{self.url}/metrics", timeout=30).text
        return {
            name: float(value)
            for name, _, value in (line.rpartition(" ") for line in text.splitlines())
            if name and not name.startswith("#")
        }


@contextlib.contextmanager
def running_gateway(
    session: Path, log: Path, *, config: str | None = None
) -> Iterator[RunningGateway]:
    """A ``tradepit gateway`` process over ``session`` (no engine: it only reads), with
    ``config`` as its TOML; stopped on the way out."""
    args = ["gateway", "--data-dir", str(session), "--port", str(port := free_port())]
    if config is not None:
        path = log.with_suffix(".toml")
        path.write_text(config)
        args += ["--config", str(path)]
    gateway = Proc.tradepit(*args, log=log)
    try:
        gateway.wait_for("gateway on", timeout=300)
        yield RunningGateway(gateway, f"http://127.0.0.1:{port}")
    except BaseException:  # what the gateway said is the first thing to read
        tail = "\n".join(gateway.output().splitlines()[-40:])
        print(f"gateway exit {gateway.proc.poll()}, its last lines:\n{tail}")
        raise
    finally:
        gateway.stop()
