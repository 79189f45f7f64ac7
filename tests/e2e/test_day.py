"""A competition day with real processes: four teams trade, a halt and its resume, a
disqualification and reinstatement, then the closing bell; the standings stay frozen
while the clock runs on, ``tradepit results`` prints them, and no file of the finished
session holds the admin token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import msgspec

from tests.e2e.server import FAST_CONFIG, ROOT, Server, running_server
from tests.procs import wait_until

TOKEN = "e2e-day-admin-token-5b1f07c2"
#: A long continuous phase (the day ends by the bell, not the timetable); no retail flow.
CONFIG = FAST_CONFIG + f'continuous_ticks = 100000\n[admin]\ntoken = "{TOKEN}"\n'
CONFIG += "[retail]\nenabled = false\n"
#: "10 s later": what ten seconds are to a session at the demo profile's one tick a
#: second, at this session's own pace (``tick_seconds = 0.25``: 2.5 s of real time).
TICKS_AFTER_THE_BELL = 10
ROLES = ("market_maker", "hedge_fund", "arbitrage", "retail")


class Envelope(msgspec.Struct):
    data: msgspec.Raw


def raw_data(url: str) -> bytes:
    """The ``data`` of an answer, byte for byte as the gateway wrote it."""
    return bytes(msgspec.json.decode(httpx.get(url, timeout=30).content, type=Envelope).data)


def admin(server: Server, path: str) -> httpx.Response:
    r = httpx.post(f"{server.url}/admin/{path}", headers={"X-Admin-Token": TOKEN}, timeout=30)
    assert r.status_code == 200, r.text
    return r


def post_order(server: Server, key: str, side: str, price: float | None) -> httpx.Response:
    body: dict[str, Any] = {"instrument_id": "SPY", "side": side, "quantity": 1}
    if price is not None:
        body["price"] = price
    return httpx.post(f"{server.url}/orders", headers={"X-API-Key": key}, json=body, timeout=30)


def health(server: Server) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{server.url}/health", timeout=30).json()["data"]
    return data


def bids(server: Server) -> list[tuple[float, int]]:
    book = httpx.get(f"{server.url}/orderbook/SPY", timeout=30).json()["data"]
    return [(level["price"], level["quantity"]) for level in book["bids"]]


def tradepit(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=ROOT,
        capture_output=True,
        check=True,
        env={**os.environ, "TRADEPIT_ADMIN_TOKEN": TOKEN},
        timeout=120,
    )
    return done.stdout.decode()


def test_a_day_from_trading_to_the_bell(tmp_path: Path) -> None:
    with running_server(tmp_path, config=CONFIG) as server:
        server.wait_continuous()
        keys = {role: server.register(f"day-{role}", role)["api_key"] for role in ROLES}
        for key in keys.values():  # every team trades with the house: P&L to freeze
            assert post_order(server, key, "buy", None).status_code == 200
        resting = server.place(keys["hedge_fund"], "buy", server.away_from_fair(-0.1), 1)

        # the halt: orders refused, cancels accepted, the book as it was
        assert tradepit("admin", "halt", "--url", server.url)
        assert health(server)["trading"] == "halted"
        before = bids(server)
        refused = post_order(server, keys["arbitrage"], "sell", None)
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "TRADING_HALTED")
        assert bids(server) == before
        cancelled = httpx.delete(
            f"{server.url}/orders/{resting['order_id']}",
            headers={"X-API-Key": keys["hedge_fund"]},
            timeout=30,
        )
        assert cancelled.status_code == 200, cancelled.text
        admin(server, "trading/resume")
        assert post_order(server, keys["arbitrage"], "sell", None).status_code == 200

        # a disqualification and the reinstatement
        team = server.register("day-late-arb", "arbitrage")
        admin(server, f"teams/{team['team_id']}/disable")
        assert post_order(server, team["api_key"], "buy", None).status_code == 403
        roster = httpx.get(f"{server.url}/game/teams", timeout=30).json()["data"]["teams"]
        assert [t["disabled"] for t in roster if t["team_id"] == team["team_id"]] == [True]
        assert tradepit("admin", "enable", team["team_id"], "--url", server.url)
        assert post_order(server, team["api_key"], "buy", None).status_code == 200

        # the bell
        bell = json.loads(tradepit("admin", "end", "--url", server.url))
        [final_seq] = [e["final_seq"] for e in bell["applied"] if "final_seq" in e]
        day = health(server)
        assert (day["ended"], day["final_seq"], day["clock"]) == (True, final_seq, "stopped")
        board = raw_data(f"{server.url}/leaderboard")
        assert json.loads(board)["seq"] == final_seq
        ended = post_order(server, keys["retail"], "buy", None)
        assert (ended.status_code, ended.json()["error"]["code"]) == (409, "COMPETITION_ENDED")

        # time goes on (the organiser restarts the clock): the standings do not move
        admin(server, "session/start")
        tick = day["tick_number"]
        wait_until(
            lambda: health(server)["tick_number"] >= tick + TICKS_AFTER_THE_BELL,
            30,
            f"{TICKS_AFTER_THE_BELL} ticks after the bell",
        )
        assert raw_data(f"{server.url}/leaderboard") == board
        session = server.session_dir()

    results = json.loads(tradepit("results", str(session), "--format", "json"))
    standings = json.loads(board)
    assert results["seq"] == final_seq
    assert {k: v for k, v in results.items() if k != "seed"} == standings
    assert any(t["pnl"] for teams in standings["roles"].values() for t in teams)
    table = tradepit("results", str(session))
    assert f"as of seq {final_seq}," in table
    assert all(f"day-{role}" in table for role in ROLES)

    # no secret in the finished session: neither in the records nor in any file
    assert TOKEN not in tradepit("log", "dump", str(session))
    leaks = [p for p in session.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []
    assert not (session / "engine.secret").exists()
