"""History older than ``events_history``, rebuilt from the log (``gateway/service/archive.py``).

The reference is a gateway over the same log that keeps everything: an archive page
must be its page, byte for byte. The log is a real session (core and market, house and
retail on) with teams of every role joining at different ticks and trading, so the
pages cross registrations, role broadcasts, own messages and records that make several
messages for one team.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing
from trio_websocket import open_websocket_url

from engine import config as configmod
from engine.records import (
    AnyRecord,
    ClockTick,
    SubmitOrder,
)
from gateway.errors import WS_SNAPSHOT_REQUIRED
from gateway.projection.entities import TeamState
from gateway.replay.paced import ReadOnlyEngine
from gateway.service import Gateway
from gateway.service.archive import Archive, Message
from gateway.service.metrics import Metrics
from gateway.upstream.source import MemoryLog
from gateway.web.rest import create_app
from tests.gateway.builders import Recorder
from tests.gateway.conftest import Server, gateway_config, start
from tests.gateway.test_ws import closed_with, tick

HISTORY = 50
ROLES = ("hedge_fund", "market_maker", "arbitrage", "retail")


def session(ticks: int) -> list[AnyRecord]:
    """A session recorded in process: teams join over the first ticks and trade."""
    recorder = Recorder("archive", 3, 1_000_000)
    commit = recorder.commit
    teams: list[str] = []
    for n in range(ticks):
        if n % 3 == 0 and len(teams) < len(ROLES):  # a team joins every third tick
            teams += recorder.join(ROLES[len(teams)])
        commit(ClockTick())
        for i, team_id in enumerate(teams):  # crossing orders between the teams
            side = "buy" if (n + i) % 2 else "sell"
            commit(SubmitOrder(team_id=team_id, instrument_id="SPX_4400_CALL", side=side,
                               quantity=1, order_type="limit", price=1000 + (n % 3)))  # fmt: skip
    return recorder.records


RECORDS = session(30)


async def following(nursery: trio.Nursery, log: MemoryLog, **gateway: Any) -> Gateway:
    gw = Gateway(gateway_config(**gateway), ReadOnlyEngine(), log)
    await nursery.start(gw.follow)
    await gw.caught_up.wait()
    return gw


@contextlib.asynccontextmanager
async def serving(log: MemoryLog, **gateway: Any) -> AsyncIterator[Gateway]:
    """One gateway following ``log``, caught up, for the length of the block."""
    async with trio.open_nursery() as nursery:
        yield await following(nursery, log, **gateway)
        nursery.cancel_scope.cancel()


def teams(gw: Gateway) -> list[TeamState]:
    return [t for t in gw.projection.teams.values() if t.streams]


async def page_all(gw: Gateway, team: TeamState, limit: int) -> list[bytes]:
    """Every message of the team's stream, paged like the bot kit pages ``/events``."""
    out: list[bytes] = []
    after = 0
    while True:
        page, head = await gw.events(team, after, limit)
        out += page
        if not page or after + len(page) >= head:
            return out
        after = json.loads(out[-1])["seq"]


async def test_archive_pages_are_the_live_stream_byte_for_byte(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = MemoryLog(RECORDS)
    async with trio.open_nursery() as nursery:
        everything = await following(nursery, log, events_history=10**9)
        small = await following(nursery, log, events_history=HISTORY)
        assert len(teams(small)) == len(ROLES)
        for team in teams(small):
            expected = await page_all(everything, team, 2000)
            assert len(expected) > 8 * HISTORY  # mostly beyond what ``small`` keeps
            assert [json.loads(m)["seq"] for m in expected] == list(range(1, len(expected) + 1))
            assert await page_all(small, team, 37) == expected  # pages end mid-record
        m = small.metrics
        # one fold per team: each of its next pages continued it
        assert m.archive_folds == len(ROLES)
        assert m.archive_records_folded <= len(ROLES) * len(RECORDS)
        assert m.archive_pages > 4 * len(ROLES)
        assert everything.metrics.archive_pages == 0
        nursery.cancel_scope.cancel()


async def test_a_page_further_back_folds_again_and_a_page_ahead_continues(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with serving(MemoryLog(RECORDS), events_history=HISTORY) as gw:
        team = teams(gw)[0]

        async def seqs(after: int, limit: int) -> list[int]:
            page, _ = await gw.events(team, after, limit)
            return [json.loads(m)["seq"] for m in page]

        assert await seqs(100, 10) == list(range(101, 111))
        assert gw.metrics.archive_folds == 1
        assert await seqs(300, 5) == list(range(301, 306))  # skips ahead: same fold
        assert gw.metrics.archive_folds == 1
        assert await seqs(200, 5) == list(range(201, 206))  # behind it: from seq 1 again
        assert gw.metrics.archive_folds == 2
        # another team whose messages the kept folds have not passed continues one
        other = teams(gw)[-1]
        page, _ = await gw.events(other, 250, 3)
        assert [json.loads(m)["seq"] for m in page] == [251, 252, 253]
        assert gw.metrics.archive_folds == 2


async def test_the_fold_keeps_to_its_budget_and_the_live_path_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rate = 2000
    log = MemoryLog(RECORDS[:-200])
    async with trio.open_nursery() as nursery:
        gw = await following(nursery, log, events_history=HISTORY, archive_records_per_second=rate)
        team = teams(gw)[0]
        head = gw.streams.head(team.team_id)
        started = trio.current_time()
        done = trio.Event()
        got: list[bytes] = []

        async def old() -> None:
            page, _ = await gw.events(team, head - HISTORY - 5, 5)
            got.extend(page)
            done.set()

        nursery.start_soon(old)
        await trio.testing.wait_all_tasks_blocked()
        # while the archive folds, the gateway folds and publishes what is committed
        log.append(RECORDS[-200:])
        assert await gw.wait_applied(RECORDS[-1].seq, timeout=0.01)
        assert not done.is_set()
        await done.wait()
        folded = gw.metrics.archive_records_folded
        assert folded > 5 * rate // 20  # more than a few chunks of the budget
        # the first chunk goes at once, each next one when the budget allows
        assert trio.current_time() - started >= (folded - rate // 20) / rate
        assert len(got) == 5
        nursery.cancel_scope.cancel()


async def test_one_teams_long_paging_does_not_starve_another_teams_page(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 38, item 8: the archive was one queue of pages, so a short page of one team
    waited out another team's fold through the whole day (~8 s). Pages now take the
    worker thread a chunk each in turn: the short page is done after a few chunks."""
    rate = 2000  # records a second: a chunk is rate // 20 = 100 records, 0.05 s
    async with serving(MemoryLog(RECORDS), events_history=HISTORY,
                       archive_records_per_second=rate) as gw:  # fmt: skip
        early, late = teams(gw)[0], teams(gw)[-1]
        late_head = gw.streams.head(late.team_id)
        done: dict[str, float] = {}
        started = trio.current_time()

        async def page(team: TeamState, after: int, limit: int) -> None:
            got, _ = await gw.events(team, after, limit)
            assert [json.loads(m)["seq"] for m in got] == list(range(after + 1, after + 1 + limit))
            done[team.team_id] = trio.current_time() - started

        async with trio.open_nursery() as nursery:
            # the long one: every message of the late team the gateway no longer keeps,
            # a fold through nearly the whole log
            nursery.start_soon(page, late, 0, late_head - HISTORY)
            await trio.testing.wait_all_tasks_blocked()
            # the short one: the early team's first 5 messages, a few chunks into the log
            nursery.start_soon(page, early, 0, 5)
        print(f"short page {done[early.team_id]:.3f} s, long page {done[late.team_id]:.3f} s")
        assert done[early.team_id] < done[late.team_id]
        chunks = len(RECORDS) // (rate // 20)
        assert chunks > 20  # the long page is many chunks
        # the short page took a few turns, not the long page's whole fold
        assert done[early.team_id] <= 6 * (rate // 20) / rate
        # and the budget holds over both: the long page took no less than its records
        assert done[late.team_id] >= (gw.metrics.archive_records_folded - 2 * rate // 20) / rate


async def test_teams_paging_at_once_each_keep_their_fold(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Pages of four teams interleaved chunk by chunk: each team's next page continues
    its own fold (one fold per team), the pages are the live stream's byte for byte."""
    log = MemoryLog(RECORDS)
    async with trio.open_nursery() as nursery:
        everything = await following(nursery, log, events_history=10**9)
        small = await following(nursery, log, events_history=HISTORY,
                                archive_records_per_second=20_000)  # fmt: skip
        got: dict[str, list[bytes]] = {}

        async def page_through(team: TeamState) -> None:
            got[team.team_id] = await page_all(small, team, 37)

        async with trio.open_nursery() as pagers:
            for team in teams(small):
                pagers.start_soon(page_through, team)
        for team in teams(small):
            assert got[team.team_id] == await page_all(everything, team, 2000)
        assert small.metrics.archive_folds == len(ROLES)
        nursery.cancel_scope.cancel()


async def test_the_archive_can_be_switched_off(autojump_clock: trio.testing.MockClock) -> None:
    async with serving(MemoryLog(RECORDS), events_history=HISTORY, archive=False) as gw:
        assert gw.archive is None
        name = f"t-{ROLES[0]}"
        client = create_app(gw).test_client()
        answer = await client.get("/events?after_seq=0", headers={"X-API-Key": name})
        assert answer.status_code == 410
        body = await answer.get_json()
        assert body["error"]["code"] == "SNAPSHOT_REQUIRED"
        head = gw.streams.head(teams(gw)[0].team_id)
        assert body["error"]["details"]["oldest_seq"] == head - HISTORY + 1


async def test_metrics_count_folds_records_and_pages(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with serving(MemoryLog(RECORDS), events_history=HISTORY) as gw:
        client = create_app(gw).test_client()
        answer = await client.get(
            "/events?after_seq=0&limit=20", headers={"X-API-Key": f"t-{ROLES[1]}"}
        )
        assert answer.status_code == 200
        data = (await answer.get_json())["data"]
        assert [m["seq"] for m in data["messages"]] == list(range(1, 21))
        assert data["last_seq"] == gw.streams.head(teams(gw)[1].team_id)
        text = await (await client.get("/metrics")).get_data(as_text=True)
        values = dict(
            line.split(" ", 1) for line in text.splitlines() if line.startswith("tradepit_archive")
        )
        assert values["tradepit_archive_folds_total"] == "1"
        assert values["tradepit_archive_pages_total"] == "1"
        assert 0 < int(values["tradepit_archive_records_folded_total"]) < len(RECORDS)


@pytest.fixture
async def small(nursery: trio.Nursery) -> AsyncIterator[Server]:
    """A served gateway that keeps 20 messages a team and pages 25 at a time."""
    with trio.fail_after(30):
        async for server in start(nursery, gateway_config(events_history=20, events_page_max=25)):
            yield server


async def test_a_websocket_resume_replays_the_log_then_joins_live_without_a_seam(
    small: Server, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages arrive while the archive replays, more each time than memory keeps, so
    memory's window moves past the replay again and again; the client still gets every
    seq once, then the live ones."""
    gw, engine = small.gw, small.engine
    with trio.fail_after(30):
        team = await small.register("seam", "retail")
        engine.emit(*[tick(n) for n in range(200)])
        assert await gw.wait_applied(small.log.head())
        assert gw.archive is not None
        page = gw.archive.page
        arrivals: list[int] = []  # the team's head after each burst

        async def page_then_more_arrive(*args: Any) -> list[Message]:
            got = await page(*args)
            if len(arrivals) < 3:  # between this page and the next: 30 > history
                engine.emit(*[tick(1000 + 30 * len(arrivals) + i) for i in range(30)])
                assert await gw.wait_applied(small.log.head())
                arrivals.append(gw.streams.head(team["team_id"]))
            return got

        monkeypatch.setattr(gw.archive, "page", page_then_more_arrive)
        received: list[str] = []
        url = f"{small.ws_url}?api_key={team['api_key']}&last_seq=1"
        async with open_websocket_url(url) as ws:
            while len(received) < 290:  # seqs 2 .. 1 + 200 + 3 x 30
                message = await ws.get_message()
                assert isinstance(message, str)
                received.append(message)
            assert len(arrivals) == 3  # every burst came during the replay
            engine.emit(*[tick(2000 + i) for i in range(5)])  # then live ones
            for _ in range(5):
                message = await ws.get_message()
                assert isinstance(message, str)
                received.append(message)
        seqs = [json.loads(m)["seq"] for m in received]
        assert seqs == list(range(2, 2 + 295))
        assert arrivals == [231, 261, 291]
        # pages from the log until memory held the rest: more than the 200 first asked
        assert gw.metrics.archive_pages >= 9
        reference = await following(nursery, small.log, events_history=10**9)
        state = reference.projection.team(team["team_id"])
        assert state is not None
        expected = await page_all(reference, state, 2000)
        assert [m.encode() for m in received] == expected[1:]


async def test_a_websocket_resume_older_than_memory_closes_4010_without_the_archive(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(30):
        async for server in start(nursery, gateway_config(events_history=20, archive=False)):
            team = await server.register("gone", "retail")
            server.engine.emit(*[tick(n) for n in range(50)])
            assert await server.gw.wait_applied(server.log.head())
            url = f"{server.ws_url}?api_key={team['api_key']}&last_seq=1"
            async with open_websocket_url(url) as ws:
                code, _ = await closed_with(ws)
            assert code == WS_SNAPSHOT_REQUIRED


def test_an_archive_over_an_empty_range_reads_nothing() -> None:
    archive = Archive(configmod.Config(), MemoryLog(), 0, Metrics())

    async def main() -> None:
        assert await archive.page("TEAM_0001", 5, 10, 0, 5) == []

    trio.run(main)
