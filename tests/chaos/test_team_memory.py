"""What an idle team costs a gateway after a 6-hour day, with real gateway processes.

The attack (issue 9, item 5): thousands of free teams registered, no client connected,
and the gateway grew ~11 KB per team per minute because every team's stream held its
own entry for every broadcast. Here one log holds a 6-hour day at the default one tick
a second (every tick's tick_start and a market_data for each of 22 instruments: ~500k
broadcasts) with 400 idle teams, another the same day with one team; a gateway folds
each and its resident memory is read once it has caught up. The difference, per team,
is what an idle team costs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from engine import config as configmod
from engine import log as logmod
from engine.instruments import build
from engine.ports import free_port
from engine.records import (
    MarketData,
    Record,
    StartSession,
    TeamRegistered,
    TickStarted,
    stamp,
)
from tests.procs import Proc, wait_until

TICKS = 6 * 3600  # one a second, the default tick_seconds
TEAMS = 400


def write_day(directory: Path, teams: int) -> int:
    config = configmod.load(None)
    instruments = sorted(build(config))
    seq = 0

    def stamped(records: list[Record]) -> list[Record]:
        nonlocal seq
        out = []
        for r in records:
            seq += 1
            out.append(stamp(r, seq, 10**18 + seq * 1000))
        return out

    with logmod.open_writer(directory, config.log) as writer:
        start: list[Record] = [
            StartSession(
                session_id="day",
                seed=1,
                config=configmod.canonical_json(config),
                config_hash=configmod.config_hash(config),
            )
        ]
        start += [
            TeamRegistered(
                team_id=f"T{i:05d}",
                team_name=f"idle-{i}",
                role=("hedge_fund", "arbitrage", "retail", "market_maker")[i % 4],
                api_key_hash=hashlib.sha256(f"k{i}".encode()).hexdigest(),
            )
            for i in range(teams)
        ]
        writer.append(stamped(start))
        batch: list[Record] = []
        for tick in range(1, TICKS + 1):
            batch.append(TickStarted(tick_number=tick, phase="continuous", digest="d"))
            price = 100 + tick % 50
            batch += [
                MarketData(instrument_id=i, bid=price, ask=price + 5, last=price,
                           bid_size=10, ask_size=10, fair=price + 2)
                for i in instruments
            ]  # fmt: skip
            if len(batch) > 20_000:
                writer.append(stamped(batch))
                batch = []
        writer.append(stamped(batch))
    return seq


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def gateway_rss(tmp: Path, name: str, teams: int) -> int:
    session = tmp / name
    head = write_day(session / "log", teams)
    port = free_port()
    gateway = Proc.tradepit(
        "gateway", "--data-dir", str(session), "--port", str(port), log=tmp / f"{name}.log"
    )
    try:
        gateway.wait_for("gateway on", timeout=300)
        url = f"http://127.0.0.1:{port}/health"
        wait_until(lambda: httpx.get(url, timeout=10).json()["data"]["applied_seq"] >= head,
                   300, "the gateway to fold the day")  # fmt: skip
        return rss_kib(gateway.proc.pid)
    finally:
        gateway.stop()


def test_an_idle_team_costs_a_fixed_amount_after_a_6_hour_day(tmp_path: Path) -> None:
    one = gateway_rss(tmp_path, "one", 1)
    many = gateway_rss(tmp_path, "many", TEAMS)
    per_team = (many - one) / (TEAMS - 1)
    print(f"6-hour day, {TICKS * 23} broadcasts: gateway RSS {one / 1024:.0f} MiB with 1 team, "
          f"{many / 1024:.0f} MiB with {TEAMS}: {per_team:.1f} KiB per idle team")  # fmt: skip
    assert per_team <= 1024  # the target: <= 1 MB per team; it was ~3.9 MB
