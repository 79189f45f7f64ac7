"""Every endpoint's ``data``, from the real server, against ``/openapi.json``.

A table of (request, the struct its ``data`` must be). Each answer must carry exactly the
keys its schema in the served document names (no more, no fewer) and convert strictly
into the struct of ``gateway.web.shapes``, nested items included; and the table, the document
and the app's routes must name the same endpoints. So a shape cannot change without the
document changing with it, and the document cannot promise what the server does not send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from gateway.service import Gateway
from gateway.upstream.source import MemoryLog
from gateway.web import dashboard, fastpath, ladder, openapi, shapes
from gateway.web.rest import PREFIXES, create_app
from tests.e2e.server import Server, running_server
from tests.gateway.core_engine import CoreEngine, quiet_config


@dataclass
class World:
    server: Server
    http: httpx.Client
    fund: dict[str, str]  # a hedge fund team with a fill, a position and a resting order
    maker: dict[str, str]
    resting_order_id: str

    def key(self, team: dict[str, str]) -> dict[str, str]:
        return {"X-API-Key": team["api_key"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_server(tmp_path_factory.mktemp("shapes"), "--no-retail") as server:
        server.wait_continuous()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            fund = server.register("shape-fund", "hedge_fund")
            maker = server.register("shape-maker", "market_maker")
            key = {"X-API-Key": fund["api_key"]}
            # a market order against the house's quotes: a fill and a position
            r = http.post(
                "/orders",
                headers=key,
                json={"instrument_id": "SPX_4400_CALL", "side": "buy", "quantity": 2},
            )
            assert r.json()["success"], r.text
            assert r.json()["data"]["fills"], r.text
            # a passive bid on the underlying, under the best bid: rests (an option's band
            # jumps with a volatility regime; the underlying's does not)
            bid = http.get("/orderbook/SPY").json()["data"]["bids"][0]["price"]
            r = http.post(
                "/orders",
                headers=key,
                json={
                    "instrument_id": "SPY",
                    "side": "buy",
                    "quantity": 1,
                    "price": round(bid * 0.95, 2),
                    "client_order_id": "rest-1",
                },
            )
            assert r.json()["success"], r.text
            yield World(server, http, fund, maker, r.json()["order_id"])


def _quote_body(world: World) -> dict[str, Any]:
    book = world.http.get("/orderbook/SPY").json()["data"]
    mid = (book["bids"][0]["price"] + book["asks"][0]["price"]) / 2
    return {
        "instrument_id": "SPY",
        "bid_price": round(mid - 0.05, 2),
        "bid_size": 1,
        "ask_price": round(mid + 0.05, 2),
        "ask_size": 1,
    }


def _bid(world: World) -> dict[str, Any]:
    """A resting bid under the best one, inside any price band."""
    best = world.http.get("/orderbook/SPY").json()["data"]["bids"][0]["price"]
    price = round(best * 0.95, 2)
    return {"instrument_id": "SPY", "side": "buy", "quantity": 1, "price": price}


def _cancel_one(world: World) -> httpx.Response:
    key = world.key(world.fund)
    r = world.http.post("/orders", headers=key, json=_bid(world))
    return world.http.delete(f"/orders/{r.json()['order_id']}", headers=key)


def _events(world: World) -> httpx.Response:
    return world.http.get("/events?after_seq=0&limit=50", headers=world.key(world.fund))


Request = Callable[[World], httpx.Response]

# (method, documented path, how to ask, the struct ``data`` must be)
TABLE: list[tuple[str, str, Request, type[msgspec.Struct]]] = [
    ("post", "/game/teams/register",
     lambda w: w.http.post("/game/teams/register",
                           json={"team_name": "shape-new", "role": "retail"}),
     shapes.Registered),
    ("post", "/auth/register",
     lambda w: w.http.post("/auth/register", json={"team_name": "shape-old", "role": "retail"}),
     shapes.Registered),
    ("get", "/game/teams", lambda w: w.http.get("/game/teams"), shapes.Roster),
    ("get", "/game/teams/{team_id}",
     lambda w: w.http.get(f"/game/teams/{w.fund['team_id']}"), shapes.TeamInfo),
    ("post", "/orders",
     lambda w: w.http.post("/orders", headers=w.key(w.fund), json=_bid(w)),
     shapes.OrderResult),
    ("post", "/quotes",
     lambda w: w.http.post("/quotes", headers=w.key(w.maker), json=_quote_body(w)),
     shapes.QuoteResult),
    ("get", "/orders", lambda w: w.http.get("/orders", headers=w.key(w.fund)), shapes.OpenOrders),
    ("delete", "/orders/{order_id}", _cancel_one, shapes.CancelledOrder),
    ("delete", "/orders",
     lambda w: w.http.delete("/orders?instrument_id=SPY", headers=w.key(w.maker)),
     shapes.CancelledOrders),
    ("get", "/positions", lambda w: w.http.get("/positions", headers=w.key(w.fund)),
     shapes.Positions),
    ("get", "/positions/{team_id}",
     lambda w: w.http.get(f"/positions/{w.fund['team_id']}", headers=w.key(w.fund)),
     shapes.Positions),
    ("get", "/orderbook/{instrument_id}", lambda w: w.http.get("/orderbook/SPX_4400_CALL"),
     shapes.OrderBook),
    ("get", "/instruments", lambda w: w.http.get("/instruments"), shapes.Instruments),
    ("get", "/events", _events, shapes.EventsPage),
    ("get", "/health", lambda w: w.http.get("/health"), shapes.Health),
    ("post", "/lockstep/done",  # harmless on a wall-clock session: it answers the tick
     lambda w: w.http.post("/lockstep/done", headers=w.key(w.fund), json={"tick_number": 1}),
     shapes.LockstepDone),
]  # fmt: skip


@pytest.fixture(scope="module")
def document(world: World) -> dict[str, Any]:
    doc: dict[str, Any] = world.http.get("/openapi.json").json()
    return doc


@pytest.mark.parametrize(
    ("method", "path", "ask", "shape"), TABLE, ids=[f"{m} {p}" for m, p, _, _ in TABLE]
)
def test_each_answer_has_exactly_its_documented_data(
    world: World,
    document: dict[str, Any],
    method: str,
    path: str,
    ask: Request,
    shape: type[msgspec.Struct],
) -> None:
    r = ask(world)
    body = r.json()
    assert (r.status_code, body["success"]) == (200, True), r.text
    schema = openapi.data_schema(document, method, path)
    assert schema is not None
    assert schema["title"] == shape.__name__
    data = body["data"]
    assert set(data) == set(schema["properties"]), r.text
    assert set(schema["required"]) == set(schema["properties"])
    msgspec.convert(data, shape)  # nested items too: unknown or missing fields fail


def test_the_lists_checked_above_were_not_empty(world: World) -> None:
    """An empty list would convert whatever its items' shape: make sure each had items."""
    key = world.key(world.fund)
    assert world.http.get("/orders", headers=key).json()["data"]["orders"]
    positions = world.http.get("/positions", headers=key).json()["data"]
    assert positions["details"]
    assert positions["positions"]["SPX_4400_CALL"] >= 2  # the fill; a resting bid may fill too
    book = world.http.get("/orderbook/SPX_4400_CALL").json()["data"]
    assert book["bids"]
    assert book["asks"]
    assert world.http.get("/events", headers=key).json()["data"]["messages"]
    assert world.http.get("/game/teams").json()["data"]["teams"]


def test_the_table_the_document_and_the_routes_name_the_same_endpoints(
    document: dict[str, Any], tmp_path: Path
) -> None:
    tabled = {(m, p) for m, p, _, _ in TABLE}
    documented = {(m, p) for m, p, *_ in openapi.ENDPOINTS}
    not_enveloped = {(m, p) for m, p, *_, data in openapi.ENDPOINTS if data is None}
    assert tabled == documented - not_enveloped
    served = {(m, path) for path, ops in document["paths"].items() for m in ops}
    assert served == {(m, prefix + p) for m, p in documented for prefix in PREFIXES}
    log, config = MemoryLog([]), quiet_config()
    app = create_app(Gateway(config, CoreEngine(log, config), log))
    routes = {
        (method.lower(), rule.rule.replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
        and not rule.rule.startswith(("/admin", "/static"))
        and rule.rule not in dashboard.PATHS + ladder.PATHS  # pages, not the bots' API
    }
    fast = {("post", path) for path in fastpath.PATHS}  # plain ASGI in front of Quart
    assert routes | fast == served
