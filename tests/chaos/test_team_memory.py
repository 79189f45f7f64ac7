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

from collections.abc import Iterator
from pathlib import Path

from engine import config as configmod
from engine.instruments import build
from engine.records import MarketData, Record, StartSession, TickStarted, stamp
from tests.chaos.day_log import DAY, idle_team, rss_kib, running_gateway, write_log

TICKS = DAY
TEAMS = 400


def day(teams: int) -> Iterator[Record]:
    """The session's start, ``teams`` idle teams, then every tick's broadcasts, stamped."""
    config = configmod.load(None)
    instruments = sorted(build(config))
    start: list[Record] = [
        StartSession(
            session_id="day",
            seed=1,
            config=configmod.canonical_json(config),
            config_hash=configmod.config_hash(config),
        ),
        *(idle_team(i) for i in range(teams)),
    ]

    def unstamped() -> Iterator[Record]:
        yield from start
        for tick in range(1, TICKS + 1):
            yield TickStarted(tick_number=tick, phase="continuous", digest="d")
            price = 100 + tick % 50
            for i in instruments:
                yield MarketData(instrument_id=i, bid=price, ask=price + 5, last=price,
                                 bid_size=10, ask_size=10, fair=price + 2)  # fmt: skip

    for seq, r in enumerate(unstamped(), 1):
        yield stamp(r, seq, 10**18 + seq * 1000)


def gateway_rss(tmp: Path, name: str, teams: int) -> int:
    session = tmp / name
    head = write_log(session / "log", day(teams))
    with running_gateway(session, tmp / f"{name}.log") as gateway:
        gateway.wait_applied(head)
        return rss_kib(gateway.pid)


def test_an_idle_team_costs_a_fixed_amount_after_a_6_hour_day(tmp_path: Path) -> None:
    one = gateway_rss(tmp_path, "one", 1)
    many = gateway_rss(tmp_path, "many", TEAMS)
    per_team = (many - one) / (TEAMS - 1)
    print(f"6-hour day, {TICKS * 23} broadcasts: gateway RSS {one / 1024:.0f} MiB with 1 team, "
          f"{many / 1024:.0f} MiB with {TEAMS}: {per_team:.1f} KiB per idle team")  # fmt: skip
    assert per_team <= 1024  # the target: <= 1 MB per team; it was ~3.9 MB
