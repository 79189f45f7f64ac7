"""Session control behind the admin token, through the real processes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server import FAST_CONFIG, Server, inside_band, running_server

TOKEN = "organiser-secret-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = FAST_CONFIG + f'[admin]\ntoken = "{TOKEN}"\n[retail]\nenabled = false\n'
    with running_server(tmp_path_factory.mktemp("admin"), config=config) as srv:
        srv.wait_continuous()
        yield srv


def admin(server: Server, path: str, token: str | None = TOKEN, **headers: str) -> httpx.Response:
    if token is not None:
        headers["X-Admin-Token"] = token
    return httpx.post(f"{server.url}/admin/{path}", headers=headers, timeout=30)


def order(server: Server, key: str, price: float | None = None) -> httpx.Response:
    if price is None:  # resting, inside the price band: an underlying's band hardly
        price = inside_band(server.fair("SPY"), 0.9)  # moves, an option's jumps with a regime
    return httpx.post(
        f"{server.url}/orders",
        headers={"X-API-Key": key},
        timeout=30,
        json={"instrument_id": "SPY", "side": "buy", "quantity": 1, "price": price},
    )


def test_no_team_key_reaches_admin(server: Server) -> None:
    team = server.register("would-be-admin", "market_maker")
    assert admin(server, "phase/closed", token=None).status_code == 401
    assert (
        admin(server, "phase/closed", token=None, **{"X-API-Key": team["api_key"]}).status_code
        == 401
    )
    assert admin(server, "phase/closed", token=team["api_key"]).status_code == 401
    assert admin(server, "phase/closed", token=TOKEN[:-1]).status_code == 401
    assert order(server, team["api_key"]).status_code == 200  # the market is still open


def test_phase_override(server: Server) -> None:
    team = server.register("phase-watcher", "hedge_fund")
    assert admin(server, "phase/closed").status_code == 200
    closed = order(server, team["api_key"])
    assert closed.status_code == 409
    assert closed.json()["error"]["code"] == "MARKET_CLOSED"
    assert admin(server, "phase/continuous").status_code == 200
    assert order(server, team["api_key"]).status_code == 200
    assert admin(server, "phase/sideways").status_code == 422


def test_disabling_a_team_cancels_its_orders_and_stops_its_trading(server: Server) -> None:
    team = server.register("to-be-disabled", "arbitrage")
    key = team["api_key"]
    placed = order(server, key).json()["order_id"]
    r = admin(server, f"teams/{team['team_id']}/disable")
    assert r.status_code == 200, r.text
    refused = order(server, key)
    assert refused.status_code == 403
    assert "disabled" in refused.json()["error"]["message"]
    assert httpx.get(f"{server.url}/orders", headers={"X-API-Key": key}).json()["data"] == {
        "orders": []
    }
    assert httpx.get(f"{server.url}/positions", headers={"X-API-Key": key}).status_code == 200
    page = httpx.get(
        f"{server.url}/events?after_seq=0&limit=2000", headers={"X-API-Key": key}
    ).json()["data"]
    cancels = [m for m in page["messages"] if m["type"] == "order_cancelled"]
    assert [(c["data"]["order_id"], c["data"]["reason"]) for c in cancels] == [
        (placed, "team_disabled")
    ]
    assert admin(server, "teams/TEAM_9999/disable").status_code == 404


def test_the_house_can_be_switched_off_and_on(server: Server) -> None:
    def house_orders() -> int:
        book = httpx.get(f"{server.url}/orderbook/SPX_4400_CALL", timeout=10).json()["data"]
        return sum(level["orders"] for level in book["bids"] + book["asks"])

    assert admin(server, "house/off").status_code == 200
    assert house_orders() == 0
    assert admin(server, "house/on").status_code == 200


def test_the_session_can_be_stopped_and_started(server: Server) -> None:
    stopped = admin(server, "session/stop")
    assert stopped.status_code == 200
    assert stopped.json()["data"]["applied"][0]["action"] == "set_clock"
    assert admin(server, "session/start").status_code == 200
    assert admin(server, "session/pause").status_code == 404
