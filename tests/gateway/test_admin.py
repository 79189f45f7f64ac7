"""A competition day's admin actions through a real gateway and the real core: halt and
resume, the closing bell and the standings frozen at it, disable and enable, the
roster, and what ``/health`` says of the day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

from engine import config as configmod
from engine.records import ClockTick, CompetitionEnded
from tests.core.fakes import FakeMarket
from tests.gateway.conftest import Server, start

TOKEN = "gateway-test-admin-token"
CALL = "SPX_4400_CALL"


@pytest.fixture
async def server(nursery: trio.Nursery) -> AsyncIterator[Server]:
    with trio.fail_after(30):
        async for s in start(nursery, configmod.load(None, admin={"token": TOKEN})):
            yield s


async def admin(server: Server, path: str) -> httpx.Response:
    return await server.http.post(f"/admin/{path}", headers={"X-Admin-Token": TOKEN})


async def order(
    server: Server, key: str, side: str = "buy", price: float | None = 24.0, quantity: int = 1
) -> httpx.Response:
    body: dict[str, Any] = {"instrument_id": CALL, "side": side, "quantity": quantity}
    if price is not None:
        body["price"] = price
    return await server.http.post("/orders", headers={"X-API-Key": key}, json=body)


async def health(server: Server) -> dict[str, Any]:
    data: dict[str, Any] = (await server.http.get("/health")).json()["data"]
    return data


def code(r: httpx.Response) -> tuple[int, str | None]:
    error = r.json()["error"]
    return r.status_code, None if error is None else error["code"]


def tick(server: Server, fair: int) -> None:
    """One clock tick of the core, its model marking every instrument at ``fair`` cents."""
    market = server.engine.core.market
    assert isinstance(market, FakeMarket)
    market.fair_values = dict.fromkeys(market.fair_values, fair)
    server.engine._commit(ClockTick())


async def test_a_halt_refuses_orders_and_quotes_keeps_the_book_and_allows_cancels(
    server: Server,
) -> None:
    with trio.fail_after(10):
        a = (await server.register("alpha"))["api_key"]
        mm = (await server.register("maker", "market_maker"))["api_key"]
        resting = (await order(server, a)).json()["order_id"]
        halted = await admin(server, "trading/halt")
        assert halted.status_code == 200, halted.text
        assert (await health(server))["trading"] == "halted"
        assert code(await order(server, a, "sell", None)) == (409, "TRADING_HALTED")
        quote = {"instrument_id": CALL, "bid_price": 23.0, "bid_size": 1, "ask_price": 25.0,
                 "ask_size": 1}  # fmt: skip
        refused = await server.http.post("/quotes", headers={"X-API-Key": mm}, json=quote)
        assert code(refused) == (409, "TRADING_HALTED")
        book = (await server.http.get(f"/orderbook/{CALL}")).json()["data"]
        assert [(level["price"], level["quantity"]) for level in book["bids"]] == [(24.0, 1)]
        cancelled = await server.http.delete(f"/orders/{resting}", headers={"X-API-Key": a})
        assert cancelled.status_code == 200, cancelled.text
        events = (await server.http.get("/events", headers={"X-API-Key": a})).json()["data"]
        kinds = [m["data"].get("event_type") for m in events["messages"] if m["type"] == "event"]
        assert "trading_halted" in kinds
        assert (await admin(server, "trading/resume")).status_code == 200
        assert (await health(server))["trading"] == "open"
        assert (await order(server, a)).status_code == 200
        assert (await admin(server, "trading/pause")).status_code == 404


async def test_the_bell_freezes_the_standings_and_refuses_orders(server: Server) -> None:
    with trio.fail_after(10):
        a = await server.register("alpha")
        b = await server.register("bravo")
        await order(server, a["api_key"], "buy", 24.0, 5)
        await order(server, b["api_key"], "sell", None, 5)
        tick(server, 2500)
        bell = await admin(server, "competition/end")
        assert bell.status_code == 200, bell.text
        [ended] = [e for e in bell.json()["data"]["applied"] if "final_seq" in e]
        final_seq = ended["final_seq"]
        assert isinstance(server.log.records[-1], CompetitionEnded)
        board = (await server.http.get("/leaderboard")).json()["data"]
        score = (
            await server.http.get(
                f"/teams/{a['team_id']}/score", headers={"X-API-Key": a["api_key"]}
            )
        ).json()["data"]
        assert board["seq"] == final_seq
        day = await health(server)
        assert (day["ended"], day["final_seq"], day["clock"]) == (True, final_seq, "stopped")
        assert day["next_phase"] is None
        assert day["registration"] == "closed"

        # after the bell the gateway itself refuses every write (the engine has stopped);
        # and if ticks still came (a log written on), the standings would not move
        assert code(await admin(server, "session/start")) == (409, "COMPETITION_ENDED")
        assert code(await admin(server, "trading/resume")) == (409, "COMPETITION_ENDED")
        tick(server, 3100)
        tick(server, 1900)
        assert (await server.http.get("/leaderboard")).json()["data"] == board
        again = await server.http.get(
            f"/teams/{a['team_id']}/score", headers={"X-API-Key": a["api_key"]}
        )
        assert again.json()["data"] == score
        assert code(await order(server, a["api_key"])) == (409, "COMPETITION_ENDED")
        late = await server.http.post(
            "/game/teams/register", json={"team_name": "late", "role": "retail"}
        )
        assert code(late) == (409, "COMPETITION_ENDED")
        assert code(await admin(server, "competition/end")) == (409, "COMPETITION_ENDED")
        assert code(await admin(server, "phase/continuous")) == (409, "COMPETITION_ENDED")


async def test_a_disabled_team_is_enabled_and_the_roster_says_which(server: Server) -> None:
    with trio.fail_after(10):
        a = await server.register("alpha")
        await server.register("bravo", "arbitrage")
        assert (await admin(server, f"teams/{a['team_id']}/disable")).status_code == 200
        assert code(await order(server, a["api_key"])) == (403, "FORBIDDEN")
        roster = (await server.http.get("/game/teams")).json()["data"]
        assert [
            (t["team_id"], t["team_name"], t["role"], t["disabled"]) for t in roster["teams"]
        ] == [
            ("TEAM_0001", "alpha", "hedge_fund", True),
            ("TEAM_0002", "bravo", "arbitrage", False),
        ]
        enabled = await admin(server, f"teams/{a['team_id']}/enable")
        assert enabled.status_code == 200, enabled.text
        assert enabled.json()["data"]["applied"][0]["action"] == "enable_team"
        assert (await order(server, a["api_key"])).status_code == 200
        roster = (await server.http.get("/game/teams")).json()["data"]
        assert [t["disabled"] for t in roster["teams"]] == [False, False]
        assert code(await admin(server, "teams/TEAM_9999/enable")) == (404, "TEAM_NOT_FOUND")


async def test_the_roster_is_paged(server: Server) -> None:
    with trio.fail_after(10):
        for name in ("alpha", "bravo", "charlie"):
            await server.register(name)
        first = (await server.http.get("/game/teams?limit=2")).json()["data"]
        assert [t["team_name"] for t in first["teams"]] == ["alpha", "bravo"]
        assert (first["count"], first["total"], first["next_offset"]) == (2, 3, 2)
        rest = (await server.http.get("/game/teams?limit=2&offset=2")).json()["data"]
        assert [t["team_name"] for t in rest["teams"]] == ["charlie"]
        assert rest["next_offset"] is None
        bad = await server.http.get("/game/teams?offset=-1")
        assert code(bad) == (422, "INVALID_REQUEST")


async def test_health_shows_the_day(server: Server) -> None:
    with trio.fail_after(10):
        await server.register("alpha")
        day = await health(server)
        assert {k: day[k] for k in ("phase", "clock", "registration", "trading", "ended")} == {
            "phase": "continuous",
            "clock": "running",
            "registration": "open",
            "trading": "open",
            "ended": False,
        }
        assert (day["registered_teams"], day["max_teams"], day["final_seq"]) == (1, 500, None)
        assert (await admin(server, "registration/close")).status_code == 200
        assert (await admin(server, "session/stop")).status_code == 200
        day = await health(server)
        assert (day["registration"], day["clock"], day["next_phase"]) == ("closed", "stopped", None)


async def test_admin_routes_need_the_token(server: Server) -> None:
    with trio.fail_after(10):
        key = (await server.register("alpha"))["api_key"]
        for path in ("trading/halt", "trading/resume", "competition/end", "teams/TEAM_0001/enable"):
            r = await server.http.post(f"/admin/{path}", headers={"X-Admin-Token": key})
            assert code(r) == (401, "UNAUTHORIZED")
        assert (await health(server))["ended"] is False
