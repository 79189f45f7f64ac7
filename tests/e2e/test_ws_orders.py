"""Orders over the team's ``/ws``, against real engine and gateway processes.

Each request is answered as its REST call would be: the same shapes (``gateway.web.shapes``
and the served OpenAPI document), the same refusal codes for the same bodies, the same
idempotency by ``client_order_id``, read-your-writes on another gateway, the same budget;
and a malformed or oversized message is answered with an error and closes nothing.
"""

from __future__ import annotations

import json
import socket as sockets
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from websockets.sync.client import ClientConnection, connect
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from gateway.web import openapi, shapes
from tests.e2e.server import FAST_CONFIG, Server, running_server

Msg = dict[str, Any]
TOKEN = "ws-orders-organiser"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("ws-orders"),
        "--no-retail",
        "--gateway-ports",
        "distinct",
        config=FAST_CONFIG + f'[admin]\ntoken = "{TOKEN}"\n',
        gateways=2,
    ) as srv:
        srv.wait_continuous()
        yield srv


def http(server: Server, gateway: int = 0) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{server.port + gateway}", timeout=30)


def socket(server: Server, key: str, gateway: int = 0) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{server.port + gateway}/ws?api_key={key}")


def ask(ws: ClientConnection, message: Msg | str) -> Msg:
    """Send one request; its response (the stream's seq'd messages in between skipped)."""
    raw = message if isinstance(message, str) else json.dumps(message)
    ws.send(raw)
    return response(ws)


def response(ws: ClientConnection) -> Msg:
    while True:
        msg: Msg = json.loads(ws.recv(timeout=30))
        if msg.get("type") == "response":
            assert "seq" not in msg  # outside the seq'd stream
            return msg


def resting_bid(server: Server) -> Msg:
    with http(server) as h:
        best = h.get("/orderbook/SPY").json()["data"]["bids"][0]["price"]
    return {"instrument_id": "SPY", "side": "buy", "quantity": 1, "price": round(best * 0.95, 2)}


def quote_body(server: Server) -> Msg:
    with http(server) as h:
        book = h.get("/orderbook/SPY").json()["data"]
    mid = (book["bids"][0]["price"] + book["asks"][0]["price"]) / 2
    return {
        "instrument_id": "SPY",
        "bid_price": round(mid - 0.05, 2),
        "bid_size": 1,
        "ask_price": round(mid + 0.05, 2),
        "ask_size": 1,
    }


def test_each_request_answers_the_data_its_rest_call_documents(server: Server) -> None:
    fund = server.register("wso-fund", "hedge_fund")
    maker = server.register("wso-maker", "market_maker")
    with http(server) as h:
        document = h.get("/openapi.json").json()

    def check(answer: Msg, method: str, path: str, shape: type[msgspec.Struct]) -> None:
        assert answer["success"], answer
        schema = openapi.data_schema(document, method, path)
        assert schema is not None
        assert set(answer["data"]) == set(schema["properties"]), answer
        msgspec.convert(answer["data"], shape)

    with socket(server, fund["api_key"]) as ws:
        placed = ask(ws, {"type": "order", "request_id": "o1", "data": resting_bid(server)})
        assert placed["request_id"] == "o1"
        assert placed["order_id"] == placed["data"]["order_id"]
        check(placed, "post", "/orders", shapes.OrderResult)
        cancel = {"order_id": placed["order_id"]}
        gone = ask(ws, {"type": "cancel", "request_id": "c1", "data": cancel})
        assert gone["order_id"] == placed["order_id"]
        check(gone, "delete", "/orders/{order_id}", shapes.CancelledOrder)
        ask(ws, {"type": "order", "request_id": "o2", "data": resting_bid(server)})
        every = ask(ws, {"type": "cancel_all", "request_id": "a1", "data": {}})
        check(every, "delete", "/orders", shapes.CancelledOrders)
        assert every["data"]["count"] == 1
    with socket(server, maker["api_key"]) as ws:
        quoted = ask(ws, {"type": "quote", "request_id": "q1", "data": quote_body(server)})
        check(quoted, "post", "/quotes", shapes.QuoteResult)
        # a wall-clock session: harmless, as its REST call (docs/protocol.md)
        done = ask(ws, {"type": "lockstep_done", "request_id": "d1", "data": {"tick_number": 0}})
        check(done, "post", "/lockstep/done", shapes.LockstepDone)
        assert (done["request_id"], done["data"]["clock_mode"]) == ("d1", "wall")


BAD_ORDERS = [
    {"instrument_id": "NOPE", "side": "buy", "quantity": 1},
    {"instrument_id": "SPY", "side": "buy", "quantity": -3},
    {"instrument_id": "SPY", "side": "sideways", "quantity": 1},
    {"instrument_id": "SPY", "side": "buy", "quantity": 1, "price": "NaN"},
    {"instrument_id": "SPY", "side": "buy", "quantity": 1, "colour": "red"},
    {"instrument_id": "SPY", "side": "buy", "quantity": 10**12, "price": 1.0},
]


@pytest.mark.parametrize("n", range(len(BAD_ORDERS)), ids=lambda n: json.dumps(BAD_ORDERS[n]))
def test_a_refused_order_gets_the_code_rest_gives_it(server: Server, n: int) -> None:
    body = BAD_ORDERS[n]
    team = server.register(f"wso-bad-{n}", "hedge_fund")
    with http(server) as h:
        rest = h.post("/orders", headers={"X-API-Key": team["api_key"]}, json=body).json()
    assert not rest["success"]
    with socket(server, team["api_key"]) as ws:
        answer = ask(ws, {"type": "order", "request_id": "bad", "data": body})
    assert not answer["success"]
    assert answer["error"]["code"] == rest["error"]["code"]
    assert answer["request_id"] == "bad"


def test_a_malformed_or_oversized_message_is_answered_and_closes_nothing(
    server: Server,
) -> None:
    team = server.register("wso-malformed", "hedge_fund")
    with socket(server, team["api_key"]) as ws:
        assert ask(ws, "{not json")["error"]["code"] == "INVALID_JSON"
        no_id = ask(ws, {"type": "order", "data": resting_bid(server)})
        assert no_id["error"]["code"] == "INVALID_REQUEST"
        unknown = ask(ws, {"type": "teleport", "request_id": "t1"})
        assert (unknown["request_id"], unknown["error"]["code"]) == ("t1", "INVALID_REQUEST")
        big = {"type": "order", "request_id": "big", "data": {"pad": "x" * 100_000}}
        too_big = ask(ws, big)
        assert (too_big["request_id"], too_big["error"]["code"]) == ("big", "PAYLOAD_TOO_LARGE")
        # and the same socket still takes an order
        fine = ask(ws, {"type": "order", "request_id": "ok", "data": resting_bid(server)})
        assert fine["success"], fine


PIPELINED = 9  # within a market maker's ten orders a second


def test_pipelined_requests_reach_the_engine_in_the_order_sent(server: Server) -> None:
    team = server.register("wso-pipeline", "market_maker")  # ten orders a second
    with socket(server, team["api_key"]) as ws:
        bid = resting_bid(server)
        for n in range(PIPELINED):  # sent without waiting: the cancel_all must see them all
            ws.send(json.dumps({"type": "order", "request_id": f"p{n}", "data": bid}))
        ws.send(json.dumps({"type": "cancel_all", "request_id": "all", "data": {}}))
        answers: dict[str, Msg] = {}
        while len(answers) < PIPELINED + 1:
            msg = response(ws)
            answers[msg["request_id"]] = msg
    assert [answers[f"p{n}"]["error"] for n in range(PIPELINED)] == [None] * PIPELINED
    assert answers["all"]["data"]["count"] == PIPELINED


def test_idempotency_and_read_your_writes_across_gateways(server: Server) -> None:
    team = server.register("wso-idem", "hedge_fund")
    key = {"X-API-Key": team["api_key"]}
    body = {**resting_bid(server), "client_order_id": "same-1"}
    with socket(server, team["api_key"], gateway=0) as ws:
        first = ask(ws, {"type": "order", "request_id": "i1", "data": body})
        # the other gateway shows the order at once: its answer waits for the commit
        with http(server, gateway=1) as other:
            orders = other.get("/orders", headers=key).json()["data"]["orders"]
            assert first["order_id"] in {o["order_id"] for o in orders}
            again_rest = other.post("/orders", headers=key, json=body).json()
        again_ws = ask(ws, {"type": "order", "request_id": "i2", "data": body})
    assert again_rest["data"]["order_id"] == first["order_id"]
    assert again_ws["data"]["order_id"] == first["order_id"]
    assert again_ws["data"]["duplicate"] is True


def test_a_flood_of_refused_requests_costs_its_sender(server: Server) -> None:
    team = server.register("wso-flood", "retail")
    bad = {"instrument_id": "SPY", "side": "buy", "quantity": -1}
    with socket(server, team["api_key"]) as ws:
        for n in range(300):
            ws.send(json.dumps({"type": "order", "request_id": f"f{n}", "data": bad}))
        codes = [response(ws)["error"]["code"] for _ in range(300)]
        assert "RATE_LIMIT_EXCEEDED" in codes
        assert set(codes) <= {"INVALID_QUANTITY", "RATE_LIMIT_EXCEEDED"}
        # a malformed envelope meets the same empty budget, and the socket stays open
        assert ask(ws, "][")["error"]["code"] == "RATE_LIMIT_EXCEEDED"


def test_a_disabled_team_is_refused_on_its_open_socket(server: Server) -> None:
    team = server.register("wso-disabled", "hedge_fund")
    with socket(server, team["api_key"]) as ws:
        with http(server) as h:  # answered once this gateway applied it
            r = h.post(f"/admin/teams/{team['team_id']}/disable", headers={"X-Admin-Token": TOKEN})
            assert r.status_code == 200, r.text
        answer = ask(ws, {"type": "order", "request_id": "d1", "data": resting_bid(server)})
    assert answer["error"]["code"] == "FORBIDDEN"


def burst(server: Server, key: str, messages: list[str]) -> list[Msg]:
    """Send ``messages`` as frames of one TCP write (so the gateway reads them at once, as
    one batch); the responses, in the order they came."""
    client = WSConnection(ConnectionType.CLIENT)
    with sockets.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(client.send(Request(host="127.0.0.1", target=f"/ws?api_key={key}&stream=0")))
        answers: list[Msg] = []
        accepted = False
        while len(answers) < len(messages):
            data = sock.recv(65536)
            assert data, "the gateway closed the socket"
            client.receive_data(data)
            for event in client.events():
                if isinstance(event, AcceptConnection):
                    accepted = True
                    frames = [client.send(TextMessage(data=m)) for m in messages]
                    sock.sendall(b"".join(frames))
                elif isinstance(event, TextMessage):
                    answers.append(json.loads(event.data))
            assert accepted
    return answers


def test_requests_sent_at_once_reach_the_engine_in_order_a_bad_one_alone(server: Server) -> None:
    team = server.register("wso-burst", "market_maker")
    bid = resting_bid(server)
    messages = [
        json.dumps({"type": "order", "request_id": "b1", "data": bid}),
        json.dumps({"type": "order", "request_id": "b2", "data": {**bid, "quantity": -1}}),
        "{not json",
        json.dumps({"type": "teleport", "request_id": "b4"}),
        json.dumps({"type": "order", "request_id": "b5", "data": bid}),
        json.dumps({"type": "cancel_all", "request_id": "b6", "data": {}}),
    ]
    answers = burst(server, team["api_key"], messages)
    # one write is one read, and so one batch answered in order, unless the machine is
    # loaded enough to split it: answers of different reads may cross (docs/protocol.md),
    # so each is matched by its request_id, and the order is the engine's (the cancel_all)
    by_id = {a["request_id"]: a for a in answers}
    assert len(by_id) == len(messages)
    codes = {key: a["error"] and a["error"]["code"] for key, a in by_id.items()}
    assert codes == {
        "b1": None, "b2": "INVALID_QUANTITY", None: "INVALID_JSON", "b4": "INVALID_REQUEST",
        "b5": None, "b6": None,
    }  # fmt: skip
    assert by_id["b1"]["order_id"] == by_id["b1"]["data"]["order_id"]
    # the cancel_all reached the engine after both orders, as they were sent
    assert by_id["b6"]["data"]["count"] == 2
    cancelled = {o["order_id"] for o in by_id["b6"]["data"]["cancelled"]}
    assert cancelled == {by_id["b1"]["order_id"], by_id["b5"]["order_id"]}
