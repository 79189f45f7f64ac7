"""The REST API on a real socket: envelope, auth, read-your-writes, errors."""

from __future__ import annotations

import contextlib
import functools
import json
from pathlib import Path

import httpx
import pytest
import trio

from tests.gateway.conftest import Server


async def test_register_then_order_then_read_your_writes(server: Server) -> None:
    with trio.fail_after(10):
        team = await server.register("alpha")
        assert team["team_id"] == "TEAM_0001"
        assert team["role"] == "hedge_fund"
        key = {"X-API-Key": team["api_key"]}
        r = await server.http.post(
            "/orders",
            headers=key,
            json={"instrument_id": "SPX_4400_CALL", "side": "buy", "quantity": 3, "price": 12.5},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["success"] is True
        assert body["error"] is None
        assert body["order_id"] == body["data"]["order_id"]
        assert body["data"]["status"] == "new"
        r = await server.http.get("/orders", headers=key)
        assert [o["order_id"] for o in r.json()["data"]["orders"]] == [body["order_id"]]


async def keyed(server: Server, name: str = "beta", role: str = "hedge_fund") -> dict[str, str]:
    team = await server.register(name, role)
    return {"X-API-Key": team["api_key"]}


ORDER = {"instrument_id": "SPX_4400_CALL", "side": "buy", "quantity": 3, "price": 12.5}


def raw_order(**fields: object) -> bytes:
    """JSON that ``json=`` would refuse to write: NaN, Infinity, huge ints."""
    parts = []
    for k, v in {**ORDER, **fields}.items():
        value = v if isinstance(v, str) and v.startswith("!") else json.dumps(v)
        parts.append(f'"{k}": {value.lstrip("!") if isinstance(value, str) else value}')
    return ("{" + ", ".join(parts) + "}").encode()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "INVALID_JSON"),
        (b"", 400, "INVALID_JSON"),
        (b"[1, 2]", 422, "INVALID_REQUEST"),
        (raw_order(extra=1), 422, "INVALID_REQUEST"),
        (raw_order(price="!NaN"), 422, "INVALID_PRICE"),
        (raw_order(price="!Infinity"), 422, "INVALID_PRICE"),
        (raw_order(price="!-Infinity"), 422, "INVALID_PRICE"),
        (raw_order(price=1e308), 422, "INVALID_PRICE"),
        (raw_order(price="!1e999"), 422, "INVALID_PRICE"),
        (raw_order(price=-5), 422, "INVALID_PRICE"),
        (raw_order(price=0), 422, "INVALID_PRICE"),
        (raw_order(price=12.345), 422, "INVALID_PRICE"),
        (raw_order(price="12.5"), 422, "INVALID_PRICE"),
        (raw_order(quantity=0), 422, "INVALID_QUANTITY"),
        (raw_order(quantity=-1), 422, "INVALID_QUANTITY"),
        (raw_order(quantity=2**63), 422, "INVALID_QUANTITY"),
        (raw_order(quantity=2**70), 422, "INVALID_QUANTITY"),
        (raw_order(quantity=1.5), 422, "INVALID_QUANTITY"),
        (raw_order(quantity=1.0), 422, "INVALID_QUANTITY"),
        (raw_order(quantity=True), 422, "INVALID_QUANTITY"),
        (raw_order(quantity="3"), 422, "INVALID_QUANTITY"),
        (raw_order(side="hold"), 422, "INVALID_SIDE"),
        (raw_order(side=1), 422, "INVALID_SIDE"),
        (raw_order(instrument_id="TSLA"), 422, "INVALID_INSTRUMENT"),
        (raw_order(order_type="stop"), 422, "ORDER_TYPE_NOT_ALLOWED"),
        (raw_order(order_type="limit", price=None), 422, "MISSING_PRICE"),
        (raw_order(client_order_id="x" * 65), 422, "INVALID_REQUEST"),
        (b'{"side": "buy", "quantity": 1}', 422, "INVALID_INSTRUMENT"),
    ],
)
async def test_bad_orders_are_refused_with_a_code(
    server: Server, body: bytes, status: int, code: str
) -> None:
    with trio.fail_after(10):
        key = await keyed(server)
        before = len(server.engine.requests)
        r = await server.http.post(
            "/orders", headers={**key, "Content-Type": "application/json"}, content=body
        )
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        envelope = r.json()
        assert envelope["success"] is False
        assert set(envelope) == {"success", "request_id", "order_id", "data", "error", "timestamp"}
        assert len(server.engine.requests) == before  # never reached the engine


async def raw_http(port: int, request: bytes, body: bytes) -> bytes:
    """One request on a raw socket; the server may answer before reading the body."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        with contextlib.suppress(trio.BrokenResourceError):
            for i in range(0, len(body), 65536):
                await stream.send_all(body[i : i + 65536])
                if i == 4 * 65536:
                    break  # enough to exceed the limit; the answer may already be there
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = await stream.receive_some(65536)
            if not data:
                break
            answer += data
        return answer


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_limit_is_413(server: Server, chunked: bool) -> None:
    with trio.fail_after(10):
        key = await keyed(server)
        big = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
        length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % len(big)
        head = (
            b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-API-Key: " + key["X-API-Key"].encode() + b"\r\n" + length + b"\r\n\r\n"
        )
        body = b"%x\r\n%s\r\n" % (len(big), big) if chunked else big
        answer = await raw_http(server.port, head, body)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"PAYLOAD_TOO_LARGE"' in answer


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}, {"X-API-Key": "nope"}])
async def test_missing_or_unknown_key_is_401(server: Server, headers: dict[str, str]) -> None:
    with trio.fail_after(10):
        for method, path in [
            ("POST", "/orders"),
            ("GET", "/orders"),
            ("GET", "/positions"),
            ("DELETE", "/orders/ORD_1"),
            ("DELETE", "/orders"),
            ("GET", "/events"),
            ("POST", "/quotes"),
        ]:
            r = await server.http.request(method, path, headers=headers, json=ORDER)
            assert r.status_code == 401, (method, path)
            assert r.json()["error"]["code"] == "UNAUTHORIZED"


async def test_another_teams_positions_are_403_and_unknown_404(server: Server) -> None:
    with trio.fail_after(10):
        a = await server.register("team-a")
        b = await server.register("team-b")
        key = {"X-API-Key": a["api_key"]}
        r = await server.http.get(f"/positions/{a['team_id']}", headers=key)
        assert r.status_code == 200
        assert r.json()["data"]["positions"] == {}
        r = await server.http.get(f"/positions/{b['team_id']}", headers=key)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "FORBIDDEN")
        r = await server.http.get("/positions/TEAM_9999", headers=key)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "TEAM_NOT_FOUND")


async def test_unknown_routes_teams_and_instruments_are_404(server: Server) -> None:
    with trio.fail_after(10):
        r = await server.http.get("/nothing/here")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "NOT_FOUND")
        r = await server.http.get("/game/teams/TEAM_0042")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "TEAM_NOT_FOUND")
        r = await server.http.get("/orderbook/TSLA")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "INVALID_INSTRUMENT")
        r = await server.http.put("/orders")
        assert (r.status_code, r.json()["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")


async def test_registration_rules(server: Server) -> None:
    with trio.fail_after(10):
        team = await server.register("gamma", "market_maker")
        assert set(team) == {"team_id", "team_name", "role", "api_key", "created_at"}
        assert team["created_at"].endswith("Z")
        cases = [
            ({"team_name": "gamma", "role": "retail"}, 409, "TEAM_NAME_TAKEN"),
            ({"team_name": "ab", "role": "retail"}, 422, "INVALID_TEAM_NAME"),
            ({"team_name": "x" * 51, "role": "retail"}, 422, "INVALID_TEAM_NAME"),
            ({"team_name": "delta", "role": "wizard"}, 422, "INVALID_ROLE"),
            ({"team_name": "delta"}, 422, "INVALID_ROLE"),
            ({"team_name": 5, "role": "retail"}, 422, "INVALID_TEAM_NAME"),
        ]
        for body, status, code in cases:
            r = await server.http.post("/game/teams/register", json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
        r = await server.http.get(f"/exchange/game/teams/{team['team_id']}")
        assert r.json()["data"]["team_name"] == "gamma"


async def test_engine_rejections_map_to_http(server: Server) -> None:
    with trio.fail_after(10):
        key = await keyed(server)
        # a hedge fund may hold 150 of one option (docs/rules.md)
        r = await server.http.post("/orders", headers=key, json={**ORDER, "quantity": 151})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "POSITION_LIMIT_EXCEEDED")
        # ... and send 5 orders a second: the refusal above counted, 4 more pass, the 6th is
        # refused with the wait until the oldest leaves the window (records are 1 ms apart)
        for _ in range(4):
            r = await server.http.post("/orders", headers=key, json=ORDER)
            assert r.status_code == 200, r.text
        r = await server.http.post("/orders", headers=key, json=ORDER)
        assert (r.status_code, r.json()["error"]["code"]) == (429, "RATE_LIMIT_EXCEEDED")
        retry_after = r.json()["error"]["details"]["retry_after"]
        assert 0.9 < retry_after < 1.0
        assert r.headers["Retry-After"] == "1"
        r = await server.http.delete("/orders/ORD_7777", headers=key)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "ORDER_NOT_FOUND")


async def test_engine_down_is_503_with_a_retry_hint(server: Server) -> None:
    with trio.fail_after(10):
        key = await keyed(server)
        server.engine.down = True
        r = await server.http.post("/orders", headers=key, json=ORDER)
        assert (r.status_code, r.json()["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
        assert r.json()["error"]["details"]["retry_after"] == 1.0
        assert "Retry-After" in r.headers


async def test_fills_positions_book_and_cancels(server: Server) -> None:
    with trio.fail_after(10):
        maker = await keyed(server, "maker", "market_maker")
        taker = await keyed(server, "taker", "hedge_fund")
        http = server.http
        r = await http.post(
            "/exchange/quotes",
            headers=maker,
            json={
                "instrument_id": "SPY",
                "bid_price": 439.5,
                "bid_size": 5,
                "ask_price": 440.5,
                "ask_size": 5,
            },
        )
        assert r.status_code == 200, r.text
        book = (await http.get("/orderbook/SPY")).json()["data"]
        assert book["bids"] == [{"price": 439.5, "quantity": 5, "orders": 1}]
        assert book["asks"] == [{"price": 440.5, "quantity": 5, "orders": 1}]
        r = await http.post(
            "/orders",
            headers=taker,
            json={"instrument_id": "SPY", "side": "buy", "quantity": 7, "client_order_id": "m1"},
        )
        data = r.json()["data"]
        assert (data["status"], data["filled_quantity"], data["cancelled_quantity"]) == (
            "cancelled",
            5,
            2,
        )
        assert data["fills"][0]["liquidity_type"] == "taker"
        assert data["order_type"] == "market"
        pos = (await http.get("/positions", headers=taker)).json()["data"]
        assert pos["positions"] == {"SPY": 5}
        assert pos["cash"] == -5 * 440.5 - 0.1
        assert (await http.get("/orderbook/SPY")).json()["data"]["asks"] == []
        r = await http.post("/orders", headers=maker, json={**ORDER, "client_order_id": "k"})
        order_id = r.json()["order_id"]
        r = await http.delete(f"/orders/{order_id}", headers=maker)
        assert r.status_code == 200
        assert r.json()["data"]["cancelled_quantity"] == 3
        r = await http.delete("/orders?instrument_id=SPY", headers=maker)
        assert r.json()["data"]["count"] == 1  # the quote's bid
        assert (await http.get("/orders", headers=maker)).json()["data"] == {"orders": []}


async def test_events_are_paged_like_the_stream(server: Server) -> None:
    with trio.fail_after(10):
        key = await keyed(server)
        for i in range(3):
            await server.http.post("/orders", headers=key, json={**ORDER, "price": 10 + i})
        r = await server.http.get("/events?after_seq=1&limit=2", headers=key)
        data = r.json()["data"]
        assert [(m["seq"], m["type"]) for m in data["messages"]] == [
            (2, "new_order_ack"),
            (3, "new_order_ack"),
        ]
        assert data["last_seq"] == 4
        r = await server.http.get("/exchange/events", headers=key)
        assert r.json()["data"]["messages"][0]["type"] == "position_snapshot"
        r = await server.http.get("/events?after_seq=-1", headers=key)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "INVALID_REQUEST")
        r = await server.http.get("/events?limit=abc", headers=key)
        assert r.status_code == 422


async def test_health_metrics_instruments_openapi(server: Server) -> None:
    with trio.fail_after(10):
        key = await keyed(server)
        await server.http.post("/orders", headers=key, json=ORDER)
        await server.http.post("/orders", headers=key, json={**ORDER, "quantity": 151})
        health = (await server.http.get("/health")).json()["data"]
        assert health["status"] == "ok"
        assert health["applied_seq"] == server.log.head()
        text = (await server.http.get("/metrics")).text
        assert f"tradepit_log_head_seq {server.log.head()}" in text
        assert "tradepit_gateway_lag_records 0" in text
        assert "tradepit_orders_accepted_total 1" in text
        assert "tradepit_orders_rejected_total 1" in text
        assert "tradepit_http_request_seconds_bucket" in text
        instruments = (await server.http.get("/instruments")).json()["data"]["instruments"]
        assert len(instruments) == 22
        doc = (await server.http.get("/openapi.json")).json()
        assert "/orders" in doc["paths"]
        assert "/exchange/orders" in doc["paths"]


async def test_serve_gateway_reports_its_port(nursery: trio.Nursery, tmp_path: Path) -> None:
    from gateway.main import serve_gateway
    from gateway.upstream.source import MemoryLog
    from tests.gateway.builders import Log
    from tests.gateway.core_engine import CoreEngine, quiet_config

    config = quiet_config()
    seed = Log()
    seed.start(config)
    log = MemoryLog(seed.records)
    with trio.fail_after(10):
        port = await nursery.start(
            functools.partial(
                serve_gateway, config, tmp_path, 0, engine=CoreEngine(log, config), source=log
            )
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            r = await http.get("/exchange/health")
        assert r.json()["data"]["applied_seq"] == log.head() == 3  # session, phase, phase
