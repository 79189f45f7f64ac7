"""A bot written from the origin project's REST reference works against the real server.

The bot below is what its reference page teaches, with ``requests`` as its quick start
uses: it registers, syncs its open orders from ``data["orders"]``, reads
``data["positions"]`` and ``data["last_updated"]``, prices and trades the long-form id
``SPX_CALL_4500_<expiry>`` under ``/exchange``, and cancels what rests with the usual
cancel-all helper. It runs in its own process against ``tradepit serve``; only the base
URL and the session's expiry date are given to it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import FAST_CONFIG, ROOT, Server, running_server

BOT = r"""
import sys
import requests

BASE_URL, EXPIRY = sys.argv[1], sys.argv[2]
INSTRUMENT = f"SPX_CALL_4500_{EXPIRY}"

r = requests.post(f"{BASE_URL}/game/teams/register",
                  json={"team_name": "reference-bot", "role": "hedge_fund"}).json()
assert r["success"], r
API_KEY = r["data"]["api_key"]
headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}

def open_orders():
    response = requests.get(f"{BASE_URL}/exchange/orders", headers=headers).json()
    return response["data"]["orders"]

def cancel_all():
    for order in open_orders():
        requests.delete(f"{BASE_URL}/exchange/orders/{order['order_id']}", headers=headers)

print("open at start:", len(open_orders()))

book = requests.get(f"{BASE_URL}/exchange/orderbook/{INSTRUMENT}", headers=headers).json()
assert book["success"], book
best_bid = book["data"]["bids"][0]["price"]
best_ask = book["data"]["asks"][0]["price"]

order = {"instrument_id": INSTRUMENT, "side": "buy", "quantity": 2,
         "price": round(best_bid * 0.95, 2), "client_order_id": "my_order_001",
         "request_id": "req_12345"}
result = requests.post(f"{BASE_URL}/exchange/orders", json=order, headers=headers).json()
if result["success"]:
    print(f"Order submitted: {result['order_id']}")
else:
    print(f"Order failed: {result['error']['message']}")
    sys.exit(1)

for o in open_orders():
    print("resting:", o["order_id"], o["instrument_id"], o["side"], o["price"],
          o["original_quantity"], o["remaining_quantity"], o["status"], o["submitted_at"])

taker = {"instrument_id": INSTRUMENT, "side": "buy", "quantity": 1,
         "price": round(best_ask * 1.05, 2)}
result = requests.post(f"{BASE_URL}/exchange/orders", json=taker, headers=headers).json()
assert result["success"], result

response = requests.get(f"{BASE_URL}/positions", headers=headers)
result = response.json()
if result["success"]:
    positions = result["data"]["positions"]
    for instrument, quantity in positions.items():
        print(f"{instrument}: {quantity}")
    print("as of", result["data"]["last_updated"])

cancel_all()
print("open at end:", len(open_orders()))

stale = requests.post(f"{BASE_URL}/exchange/orders", headers=headers,
                      json={**order, "instrument_id": "SPX_CALL_4500_20240315"}).json()
print("stale:", stale["error"]["code"], stale["error"]["message"])
print("BOT DONE")
"""


ADMIN = "reference-admin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = f'{FAST_CONFIG}\n[admin]\ntoken = "{ADMIN}"\n'
    with running_server(tmp_path_factory.mktemp("reference"), "--no-retail", config=config) as srv:
        srv.wait_continuous()
        # the clock stopped: the house's quotes stay where the bot read them, so its
        # passive bid (5% under the best bid) rests whatever the machine's speed
        r = httpx.post(f"{srv.url}/admin/session/stop", headers={"X-Admin-Token": ADMIN})
        assert r.status_code == 200, r.text
        yield srv


def test_a_bot_written_from_the_reference_runs_unchanged(server: Server, tmp_path: Path) -> None:
    instruments = httpx.get(f"{server.url}/instruments", timeout=10).json()["data"]
    expiry = instruments["expiry"].replace("-", "")
    alias = {i["instrument_id"]: i["alias"] for i in instruments["instruments"]}
    assert alias["SPX_4500_CALL"] == f"SPX_CALL_4500_{expiry}"
    script = tmp_path / "bot.py"
    script.write_text(BOT)
    done = subprocess.run(
        [sys.executable, str(script), server.url, expiry],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "open at start: 0" in out
    # answers name the canonical id, whatever the bot sent
    assert "resting: " in out
    assert " SPX_4500_CALL buy " in out
    assert " 2 2 open " in out
    assert "SPX_4500_CALL: 1" in out  # the taker order filled against the house
    assert "as of 20" in out
    assert "open at end: 0" in out
    assert "stale: INVALID_INSTRUMENT" in out
    assert f"expires on {expiry}; send SPX_4500_CALL" in out
    assert "BOT DONE" in out


def test_long_ids_work_wherever_an_instrument_is_input(server: Server) -> None:
    expiry = httpx.get(f"{server.url}/instruments").json()["data"]["expiry"].replace("-", "")
    long_id = f"SPY_PUT_440_{expiry}"
    team = server.register("alias-maker", "market_maker")
    key = {"X-API-Key": team["api_key"]}
    with httpx.Client(base_url=server.url, headers=key, timeout=10) as http:
        book = http.get(f"/orderbook/{long_id}").json()["data"]
        assert book["instrument_id"] == "SPY_440_PUT"
        mid = (book["bids"][0]["price"] + book["asks"][0]["price"]) / 2
        quote = {"instrument_id": long_id, "bid_price": round(mid - 0.02, 2), "bid_size": 1,
                 "ask_price": round(mid + 0.02, 2), "ask_size": 1}  # fmt: skip
        r = http.post("/quotes", json=quote)
        assert r.json()["success"], r.text
        assert r.json()["data"]["bid"]["instrument_id"] == "SPY_440_PUT"
        mine = http.get(f"/orders?instrument_id={long_id}").json()["data"]["orders"]
        assert {o["instrument_id"] for o in mine} == {"SPY_440_PUT"}
        assert len(mine) == 2
        r = http.delete(f"/orders?instrument_id={long_id}")
        assert r.json()["data"]["count"] == 2
        r = http.get("/orderbook/SPY_PUT_445_" + expiry)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "INVALID_INSTRUMENT")
        assert "SPY_440_PUT" in r.json()["error"]["message"]  # the canonical ids, named
        r = http.get("/orders?instrument_id=SPY_PUT_440_19990101")
        assert (r.status_code, r.json()["error"]["code"]) == (422, "INVALID_INSTRUMENT")
        assert "SPY_440_PUT" in r.json()["error"]["details"]["instruments"]


def test_auth_register_is_the_register_endpoint_too(server: Server) -> None:
    for path in ("/auth/register", "/exchange/auth/register"):
        name = "old-docs" + path.replace("/", "-")
        r = httpx.post(f"{server.url}{path}", json={"team_name": name, "role": "retail"})
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert set(data) == {"team_id", "team_name", "role", "api_key", "created_at"}
        me = httpx.get(f"{server.url}/positions", headers={"X-API-Key": data["api_key"]})
        assert me.json()["data"]["team_id"] == data["team_id"]
    r = httpx.post(f"{server.url}/auth/register", json={"team_name": name, "role": "retail"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "TEAM_NAME_TAKEN")
