"""Hostile input through the real HTTP and WebSocket stack of a running server.

Each input gets a 4xx with an error code (or a WebSocket close with a reason); the
server keeps running, every accepted record stays, other teams are unaffected.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.server import FAST_CONFIG, Server, inside_band, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # every attack registers a team of its own, all from this one address: the limit per
    # address has its own test (tests/e2e/test_registration_abuse.py)
    config = FAST_CONFIG + "[gateway]\nregistrations_per_minute = 0\n"
    with running_server(tmp_path_factory.mktemp("hostile"), "--no-retail", config=config) as srv:
        yield srv


@pytest.fixture(scope="module")
def victim(server: Server) -> dict[str, str]:
    """A team with one accepted resting order that every attack must leave intact."""
    server.wait_continuous()
    team = server.register("victim-team", "hedge_fund")
    r = httpx.post(
        f"{server.url}/orders",
        headers={"X-API-Key": team["api_key"]},
        # the underlying, 10% under fair value: inside the price band and out of reach of
        # a volatility regime change (options' fair values jump with it; the band follows
        # and would cancel a resting option order left outside it)
        json={
            "instrument_id": "SPY",
            "side": "buy",
            "quantity": 1,
            "price": inside_band(server.fair("SPY"), 0.9),
        },
    )
    assert r.status_code == 200, r.text
    return {**team, "order_id": r.json()["order_id"]}


@pytest.fixture
def attacker(server: Server) -> Iterator[httpx.Client]:
    name = f"attacker-{next(_names)}"
    team = server.register(name, "hedge_fund")
    with httpx.Client(base_url=server.url, headers={"X-API-Key": team["api_key"]}, timeout=30) as c:
        yield c


_names = iter(range(10_000))
GOOD = {"instrument_id": "SPX_4400_CALL", "side": "buy", "quantity": 1, "price": 1.00}


def still_intact(server: Server, victim: dict[str, str]) -> None:
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    orders = httpx.get(f"{server.url}/orders", headers={"X-API-Key": victim["api_key"]}, timeout=10)
    assert [o["order_id"] for o in orders.json()["data"]["orders"]] == [victim["order_id"]]


def assert_error(r: httpx.Response, status: int | tuple[int, ...], code: str | None = None) -> None:
    statuses = (status,) if isinstance(status, int) else status
    assert r.status_code in statuses, (r.status_code, r.text)
    body = r.json()
    assert body["success"] is False
    assert body["error"]["code"]
    if code is not None:
        assert body["error"]["code"] == code, body


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"not json",
        b"[]",
        b"null",
        b'{"price": NaN}',
        b'{"price": Infinity}',
        b"\xff\xfe",
        b"",
    ],
)
def test_malformed_bodies(
    server: Server, victim: dict[str, str], attacker: httpx.Client, raw: bytes
) -> None:
    r = attacker.post("/orders", content=raw, headers={"Content-Type": "application/json"})
    assert_error(r, (400, 422))
    still_intact(server, victim)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"price": -1.0}, "INVALID_PRICE"),
        ({"price": 0}, "INVALID_PRICE"),
        ({"price": 1e308}, "INVALID_PRICE"),
        ({"price": 25.455}, "INVALID_PRICE"),
        ({"price": "1.00"}, None),
        ({"quantity": 0}, "INVALID_QUANTITY"),
        ({"quantity": -1}, "INVALID_QUANTITY"),
        ({"quantity": 2**63}, "INVALID_QUANTITY"),
        ({"quantity": 1.5}, "INVALID_QUANTITY"),
        ({"quantity": "10"}, None),
        ({"side": "hold"}, "INVALID_SIDE"),
        ({"side": 5}, None),
        ({"instrument_id": "SPX_9999_CALL"}, "INVALID_INSTRUMENT"),
        ({"instrument_id": "x" * 5000}, "INVALID_INSTRUMENT"),
        ({"order_type": "stop"}, None),
        ({"surprise": 1}, None),
    ],
)
def test_wrong_values_and_types(
    server: Server,
    victim: dict[str, str],
    attacker: httpx.Client,
    change: dict[str, object],
    code: str | None,
) -> None:
    r = attacker.post("/orders", json={**GOOD, **change})
    assert_error(r, 422, code)
    still_intact(server, victim)


def test_missing_price_on_a_limit_order(attacker: httpx.Client) -> None:
    r = attacker.post(
        "/orders",
        json={
            "instrument_id": "SPX_4400_CALL",
            "side": "buy",
            "quantity": 1,
            "order_type": "limit",
        },
    )
    assert_error(r, 422, "MISSING_PRICE")


def test_a_10mb_body_is_refused(
    server: Server, victim: dict[str, str], attacker: httpx.Client
) -> None:
    r = attacker.post(
        "/orders",
        content=b"{" + b" " * (10 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert_error(r, 413)
    still_intact(server, victim)


@pytest.mark.parametrize(
    "name", ["ab", "x" * 51, "bad\x00name", "tab\tname", "line\nbreak", "\u202eevil", ""]
)
def test_bad_team_names(server: Server, name: str) -> None:
    r = httpx.post(f"{server.url}/game/teams/register", json={"team_name": name, "role": "retail"})
    assert_error(r, 422)


def test_unicode_team_names_are_fine_and_unique(server: Server) -> None:
    team = server.register("Équipe Zürich 東京", "retail")
    assert team["team_name"] == "Équipe Zürich 東京"
    r = httpx.post(
        f"{server.url}/game/teams/register",
        json={"team_name": "Équipe Zürich 東京", "role": "retail"},
    )
    assert_error(r, 409, "TEAM_NAME_TAKEN")


def test_unknown_role(server: Server) -> None:
    r = httpx.post(
        f"{server.url}/game/teams/register", json={"team_name": "roleless", "role": "king"}
    )
    assert_error(r, 422)


def test_a_repeated_client_order_id_answers_the_original(
    server: Server, attacker: httpx.Client
) -> None:
    # rests, inside the price band (an underlying's: an option's jumps with a new regime)
    price = inside_band(server.fair("SPX"), 0.9)
    body = {**GOOD, "instrument_id": "SPX", "price": price, "client_order_id": "same-id"}
    first = attacker.post("/orders", json=body)
    second = attacker.post("/orders", json=body)
    assert first.status_code == second.status_code == 200
    assert first.json()["order_id"] == second.json()["order_id"]
    assert (
        len(
            [
                o
                for o in attacker.get("/orders").json()["data"]["orders"]
                if o["client_order_id"] == "same-id"
            ]
        )
        == 1
    )


def test_another_teams_order_cannot_be_touched(
    server: Server, victim: dict[str, str], attacker: httpx.Client
) -> None:
    assert_error(attacker.delete(f"/orders/{victim['order_id']}"), 404, "ORDER_NOT_FOUND")
    assert_error(attacker.get(f"/positions/{victim['team_id']}"), 403)
    still_intact(server, victim)


@pytest.mark.parametrize("key", [None, "", "x" * 43, "' OR 1=1 --", "a" * 10_000])
def test_guessed_keys_are_401(server: Server, key: str | None) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    assert_error(httpx.post(f"{server.url}/orders", json=GOOD, headers=headers), 401)


def test_a_thousand_websocket_connects_without_a_key(
    server: Server, victim: dict[str, str]
) -> None:
    codes = []
    for i in range(1000):
        url = f"ws://127.0.0.1:{server.port}/ws" + ("" if i % 2 else "?api_key=")
        with pytest.raises(ConnectionClosed) as info, connect(url, open_timeout=30) as ws:
            ws.recv(timeout=30)
        assert info.value.rcvd is not None
        codes.append(info.value.rcvd.code)
    assert set(codes) == {1008}
    still_intact(server, victim)


def test_slowloris_does_not_block_others(server: Server, victim: dict[str, str]) -> None:
    socks = []
    try:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s.sendall(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n")
            socks.append(s)
        still_intact(server, victim)  # while 50 clients dribble, others are served
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize(
    "head",
    [
        b"PUT /quotes HTTP/1.1",  # 405 before the body
        b"TRACE /exchange/orders HTTP/1.1",
        b"POST /positions HTTP/1.1",
    ],
)
def test_an_answer_before_the_body_closes_the_connection(
    server: Server, victim: dict[str, str], head: bytes
) -> None:
    """Answered before its body arrived, a connection cannot be reused: the server must
    close it (it once left it open and unread, so the client's next request hung)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(head + b"\r\nHost: x\r\nContent-Type: application/json\r\n")
        s.sendall(b"Content-Length: 7\r\n\r\n")  # and the body never comes
        received = b""
        while chunk := s.recv(4096):  # a hang fails here, at the socket timeout
            received += chunk
    assert received.startswith(b"HTTP/1.1 4"), received[:80]
    still_intact(server, victim)


def test_a_websocket_client_that_never_reads(server: Server, victim: dict[str, str]) -> None:
    """It is closed (slow consumer) or left buffering; either way nobody else waits for it."""
    team = server.register("never-reads", "market_maker")
    sleeper = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sleeper.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sleeper.sendall(
        b"GET /ws?api_key=" + team["api_key"].encode() + b"&last_seq=0 HTTP/1.1\r\nHost: x\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    try:
        other = server.register("reads-fine", "market_maker")
        with connect(f"ws://127.0.0.1:{server.port}/ws?api_key={other['api_key']}") as ws:
            assert json.loads(ws.recv(timeout=30))["type"] == "position_snapshot"
            assert json.loads(ws.recv(timeout=30))["seq"] >= 2
        still_intact(server, victim)
    finally:
        sleeper.close()


def test_the_openapi_document_is_served(server: Server) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/orders" in doc["paths"]
