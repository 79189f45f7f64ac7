"""Three gateways behind one port (SO_REUSEPORT), real engine and gateway processes.

ARCHITECTURE rule 8: a bot reads its own writes on whichever gateway it reaches. Every
request here opens a fresh TCP connection, so the kernel may hand each one to any of
the three gateways; ``X-Gateway-Id`` says which one answered.
"""

from __future__ import annotations

import http.client
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.e2e.server import Server, inside_band, running_server

ROUNDS = 1000
GATEWAYS = 3
CONFIG = """
[schedule]
tick_seconds = 0.25
pre_open_ticks = 1
auction_ticks = 1
[roles.market_maker]
orders_per_second = 100000
[gateway]
# an idle gateway looks for commits only every 0.05 s: a read that did not wait for
# the commit before it (the read barrier) would miss most orders placed elsewhere
follow_poll_seconds = 0.05
"""
# the underlying, priced in the band each round: an option's band moves with the
# volatility regime and could cancel the order between its post and its cancel
ORDER = {"instrument_id": "SPX", "side": "buy", "quantity": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("shared"),
        "--no-house",
        "--no-retail",
        config=CONFIG,
        gateways=GATEWAYS,
    ) as srv:
        srv.wait_continuous()
        yield srv


def fresh(
    server: Server, method: str, path: str, key: str | None = None, body: object = None
) -> tuple[int, dict[str, str], Any]:
    """One request on its own new connection: status, headers, decoded envelope."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = {"Connection": "close", "Content-Type": "application/json"}
        if key:
            headers["X-API-Key"] = key
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        answer = conn.getresponse()
        payload = json.loads(answer.read())
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, payload
    finally:
        conn.close()


def test_the_banner_and_health_name_the_gateways(server: Server, tmp_path: Path) -> None:
    banner = (server.data_dir.parent / "serve.log").read_text()
    assert "3 gateways on one port: gw-1, gw-2, gw-3" in banner
    seen: set[str] = set()
    for _ in range(200):  # fresh connections until the kernel has shown us every gateway
        _, headers, body = fresh(server, "GET", "/health")
        assert body["data"]["gateway_id"] == headers["x-gateway-id"]
        seen.add(headers["x-gateway-id"])
        if len(seen) == GATEWAYS:
            break
    assert seen == {"gw-1", "gw-2", "gw-3"}


@pytest.mark.slow
def test_every_read_sees_the_write_before_it_on_any_gateway(server: Server) -> None:
    _, _, registered = fresh(
        server, "POST", "/game/teams/register", body={"team_name": "ryw", "role": "market_maker"}
    )
    key = registered["data"]["api_key"]
    posted_on: Counter[str] = Counter()
    read_on: Counter[str] = Counter()
    crossed = misses = 0
    previous: str | None = None
    for n in range(ROUNDS):
        order = {**ORDER, "price": inside_band(server.fair("SPX"), 0.9)}
        status, post_headers, post = fresh(server, "POST", "/orders", key, order)
        assert status == 200, post
        order_id = post["order_id"]
        status, get_headers, got = fresh(server, "GET", "/orders", key)
        assert status == 200, got
        open_ids = {o["order_id"] for o in got["data"]["orders"]}
        misses += order_id not in open_ids
        # the cancel of the previous round's order was answered before this read came
        assert previous not in open_ids, f"round {n}: cancelled {previous} still open"
        # what the read reflects is at least what the write's answer did
        assert int(get_headers["x-log-seq"]) >= int(post_headers["x-log-seq"])
        posted_on[post_headers["x-gateway-id"]] += 1
        read_on[get_headers["x-gateway-id"]] += 1
        crossed += post_headers["x-gateway-id"] != get_headers["x-gateway-id"]
        status, _, cancelled = fresh(server, "DELETE", f"/orders/{order_id}", key)
        assert status == 200, cancelled
        previous = order_id
    assert misses == 0
    # the rounds really did cross gateways: all three took writes and reads
    assert set(posted_on) == set(read_on) == {"gw-1", "gw-2", "gw-3"}
    assert crossed > ROUNDS // 4, (crossed, posted_on, read_on)


def gateway_of(ws: ClientConnection) -> str:
    assert ws.response is not None
    return ws.response.headers["x-gateway-id"]


def messages(ws: ClientConnection, upto: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while not out or out[-1]["seq"] < upto:
        out.append(json.loads(ws.recv(timeout=30)))
    return out


def test_a_resume_lands_on_another_gateway_with_no_gap_and_no_duplicate(server: Server) -> None:
    _, _, registered = fresh(
        server, "POST", "/game/teams/register", body={"team_name": "resumer", "role": "retail"}
    )
    key = registered["data"]["api_key"]
    url = f"ws://127.0.0.1:{server.port}/ws?api_key={key}"
    with connect(url) as first:
        first_gateway = gateway_of(first)
        seen = messages(first, 4)  # from seq 1: registration snapshot, then ticks
    last_seq = seen[-1]["seq"]
    for _ in range(100):  # fresh connections until one lands elsewhere
        with connect(f"{url}&last_seq={last_seq}") as resumed:
            if gateway_of(resumed) == first_gateway:
                continue
            second_gateway = gateway_of(resumed)
            replayed = messages(resumed, last_seq + 4)
            break
    else:
        pytest.fail(f"100 connections all reached {first_gateway}")
    assert second_gateway != first_gateway
    assert [m["seq"] for m in replayed] == list(range(last_seq + 1, last_seq + 1 + len(replayed)))
    # the same messages any gateway pages from the log
    _, _, page = fresh(server, "GET", f"/events?after_seq={last_seq}&limit={len(replayed)}", key)
    assert page["data"]["messages"] == replayed
