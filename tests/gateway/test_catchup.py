"""A gateway catching up a finished log serves what one that followed it live served.

The fold runs over whatever lists its source read (``gateway.upstream.source.batches``): a
command and its events while following live, thousands of records at once while
catching up, a frame or a whole segment of the file log. ARCHITECTURE rule 4 says the
messages are a function of the log alone, so none of that may show: every team's
``GET /events`` and the dashboard's public stream must be the same bytes. The log is a
real session (core and market, house and retail on, so most records are the simulated
teams') where teams of every role join at different ticks, fill each other and cancel
orders they left resting.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import trio
import trio.testing

from engine import log as logmod
from engine.config import LogConfig
from engine.records import (
    AnyRecord,
    CancelOrder,
    ClockTick,
    MarketData,
    OrderAccepted,
    OrderCancelled,
    SubmitOrder,
    Trade,
)
from gateway.projection.messages import stream_frame
from gateway.replay.paced import ReadOnlyEngine
from gateway.service import Gateway
from gateway.upstream.source import LogSource, MemoryLog, RecordSource
from gateway.web.rest import create_app
from tests.gateway.builders import Recorder
from tests.gateway.conftest import gateway_config
from tests.gateway.test_archive import ROLES, page_all, teams

#: Everything kept in memory: the pages compared are whole streams, not archive folds.
KEEP_ALL = 10**9


def session(ticks: int) -> list[list[AnyRecord]]:
    """A session recorded in process, as the commits that wrote it (a command and its
    events each). Every team crosses the others and leaves a far bid it cancels a tick
    later."""
    recorder = Recorder("catchup", 11, 7_000_000)  # a burst spans several commands
    commit = recorder.commit
    team_ids: list[str] = []
    resting: dict[str, str] = {}  # team -> its far bid's order id
    for n in range(ticks):
        if n % 2 == 0 and len(team_ids) < len(ROLES):  # a team joins every second tick
            team_ids += recorder.join(ROLES[len(team_ids)])
        commit(ClockTick())
        for i, team_id in enumerate(team_ids):
            if team_id in resting:
                commit(CancelOrder(team_id=team_id, order_id=resting.pop(team_id)))
            side = "buy" if (n + i) % 2 else "sell"
            commit(SubmitOrder(team_id=team_id, instrument_id="SPX_4400_CALL", side=side,
                               quantity=1 + i, order_type="limit",
                               price=1000 + (n % 3)))  # fmt: skip
            events = commit(SubmitOrder(team_id=team_id, instrument_id="SPX_4500_PUT",
                                        side="buy", quantity=2, order_type="limit", price=5,
                                        client_order_id=f"far-{n}-{i}"))  # fmt: skip
            # a retail team's rate limit refuses some: a refusal makes no message either
            resting.update((team_id, e.order_id) for e in events if isinstance(e, OrderAccepted))
    return recorder.commits


COMMITS = session(40)
RECORDS = [record for records in COMMITS for record in records]


@contextlib.asynccontextmanager
async def following(source: RecordSource) -> AsyncIterator[Gateway]:
    """A gateway folding ``source`` for the length of the block."""
    async with trio.open_nursery() as nursery:
        gw = Gateway(gateway_config(events_history=KEEP_ALL), ReadOnlyEngine(), source)
        await nursery.start(gw.follow)
        yield gw
        nursery.cancel_scope.cancel()


async def served(gw: Gateway) -> dict[str, list[bytes]]:
    """What the gateway serves: every team's ``GET /events`` pages, by team name, and
    the public stream's history under ``public``."""
    out = {t.team_name: await page_all(gw, t, 97) for t in teams(gw)}  # pages end mid-record
    out["public"] = [
        stream_frame(seq, body) for seq, body in gw.public.stream.read(1, gw.public.head)
    ]
    return out


async def test_a_gateway_catching_up_serves_what_the_live_one_served(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    log_dir = tmp_path / "log"
    # small segments: the catch-up reads cross several of them
    with logmod.open_writer(log_dir, LogConfig(fsync="off", segment_bytes=64 * 1024)) as writer:
        async with following(LogSource(log_dir)) as live:
            for records in COMMITS:  # as the engine commits them, each folded before the next
                writer.append(records)
                live.source.nudge()
                assert await live.wait_applied(records[-1].seq)
            expected = await served(live)
            dashboard, _ = live.public.open(live.projection, None)
            streaming = {t.team_id for t in teams(live)}
    assert len(list(log_dir.glob("*.seg"))) > 3

    kinds = Counter(type(r) for r in RECORDS)
    assert kinds[OrderCancelled] > 100
    assert kinds[Trade] > 50
    assert kinds[MarketData] > 100
    # the house and retail flow, most of the orders: records that make no team a message
    accepted = Counter(r.team_id in streaming for r in RECORDS if isinstance(r, OrderAccepted))
    assert accepted[False] > accepted[True] > 100
    assert expected.keys() == {f"t-{role}" for role in ROLES} | {"public"}
    kinds_sent = ("new_order_ack", "execution_report", "order_cancelled", "market_data")
    total: Counter[str] = Counter()
    for name, messages in expected.items():
        assert [json.loads(m)["seq"] for m in messages] == list(range(1, len(messages) + 1))
        types = Counter(json.loads(m)["type"] for m in messages)
        if name == "public":
            assert {"tick", "quotes", "books", "trades", "leaderboard"} <= types.keys()
            continue
        assert all(types[kind] for kind in kinds_sent), (name, types)
        total += types
    assert min(total[kind] for kind in kinds_sent) > 40

    # from seq 1 on the finished log: the file log read across its segments, many
    # commits a list, and memory in one list of everything
    for source in (LogSource(log_dir), MemoryLog(RECORDS)):
        async with following(source) as late:
            assert await late.wait_applied(RECORDS[-1].seq)
            assert late.caught_up.is_set()
            assert await served(late) == expected
            assert late.public.open(late.projection, None)[0] == dashboard
            # and through the route, for one team: the same messages, the same head
            client = create_app(late).test_client()
            name = f"t-{ROLES[0]}"
            answer = await client.get("/events?after_seq=0&limit=50", headers={"X-API-Key": name})
            data = (await answer.get_json())["data"]
            assert data["messages"] == [json.loads(m) for m in expected[name][:50]]
            assert data["last_seq"] == len(expected[name])


async def test_a_gateway_reports_its_catch_up_in_its_metrics(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with following(MemoryLog(RECORDS)) as late:
        await late.caught_up.wait()
        assert late.catch_up is not None
        records, seconds = late.catch_up
        assert records == len(RECORDS) == RECORDS[-1].seq
        assert seconds >= 0
        metrics = dict(
            line.split(" ", 1)
            for line in late.render_metrics().splitlines()
            if line.startswith("tradepit_gateway_catch_up_")
        )
        assert metrics["tradepit_gateway_catch_up_records"] == str(len(RECORDS))
        assert float(metrics["tradepit_gateway_catch_up_seconds"]) == seconds
