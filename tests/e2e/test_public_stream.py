"""``/ws/public``: the dashboard's stream, against the real engine and gateways."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.server import FAST_CONFIG, Server, running_server

PRIVATE_TYPES = {"signal", "new_order_ack", "execution_report", "order_cancelled",
                 "position_snapshot", "score_update"}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = FAST_CONFIG + "[retail]\nenabled = false\n"
    with running_server(tmp_path_factory.mktemp("public"), "--no-house", config=config) as srv:
        srv.wait_continuous()
        yield srv


def public_url(server: Server, last_seq: int | None = None, gateway: int | None = None) -> str:
    base = server.url if gateway is None else server.gateway_url(gateway)
    url = base.replace("http", "ws", 1) + "/ws/public"
    return url if last_seq is None else f"{url}?last_seq={last_seq}"


def receive(ws: ClientConnection, timeout: float = 20) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return message


def until(ws: ClientConnection, kind: str, match: dict[str, Any]) -> dict[str, Any]:
    """The next item of a ``kind`` message (``books``, ``trades``: lists of dicts under
    the key of that name) that holds ``match`` (bounded by recv's timeout)."""
    for _ in range(10_000):
        message = receive(ws)
        if message["type"] != kind:
            continue
        for item in message["data"][kind]:
            if all(item.get(k) == v for k, v in match.items()):
                return dict(item)
    raise AssertionError(f"no {kind} {match}")


def test_snapshot_then_deltas_in_seq_order(server: Server) -> None:
    with connect(public_url(server)) as ws:
        first = receive(ws)
        assert first["type"] == "dashboard_snapshot"
        data = first["data"]
        assert data["phase"] == "continuous"
        assert {b["instrument_id"] for b in data["books"]} >= {"SPX", "SPY", "SPY_420_PUT"}
        assert data["leaderboard"]["roles"].keys() >= {"market_maker", "hedge_fund"}
        seq = first["seq"]
        for _ in range(5):
            message = receive(ws)
            assert message["seq"] == seq + 1
            seq = message["seq"]


def test_an_order_and_a_trade_show_on_the_book_and_the_tape(server: Server) -> None:
    maker = server.register("public-maker", "market_maker")
    taker = server.register("public-taker", "hedge_fund")
    with connect(public_url(server)) as ws:
        receive(ws)
        price = server.away_from_fair(0.05)
        server.place(maker["api_key"], "sell", price, 3)
        book = until(ws, "books", {"instrument_id": "SPY"})
        assert {"price": price, "quantity": 3} in [
            {k: level[k] for k in ("price", "quantity")} for level in book["asks"]
        ]
        server.place(taker["api_key"], "buy", price, quantity=2)
        trade = until(ws, "trades", {"instrument_id": "SPY", "price": price})
        assert trade["quantity"] == 2
        assert trade["aggressor"] == "buy"
        assert "team_id" not in json.dumps(trade)


def test_resume_by_last_seq_has_no_gap_and_no_duplicate(server: Server) -> None:
    with connect(public_url(server)) as ws:
        last = receive(ws)["seq"]
        for _ in range(3):
            last = receive(ws)["seq"]
    with connect(public_url(server)) as steady:
        receive(steady)
        with connect(public_url(server, last_seq=last)) as resumed:
            seqs = [receive(resumed)["seq"] for _ in range(8)]
    assert seqs == list(range(last + 1, last + 9))


@pytest.mark.slow
def test_never_a_signal_nor_a_teams_private_message(server: Server) -> None:
    for role in ("hedge_fund", "arbitrage"):  # the roles that get signals
        server.register(f"signal-{role}", role)
    seen: set[str] = set()
    with connect(public_url(server)) as ws:
        text = ws.recv(timeout=20)
        assert isinstance(text, str)
        for _ in range(200):
            message = receive(ws)
            seen.add(message["type"])
    assert "tick" in seen
    assert not seen & PRIVATE_TYPES
    assert "api_key" not in text
    assert "signal_type" not in text


def test_a_bad_or_too_new_last_seq_closes_with_a_code(server: Server) -> None:
    with pytest.raises(ConnectionClosed) as bad, connect(public_url(server) + "?last_seq=x") as ws:
        ws.recv(timeout=20)
    assert bad.value.rcvd is not None
    assert bad.value.rcvd.code == 1008
    with (
        pytest.raises(ConnectionClosed) as ahead,
        connect(public_url(server, last_seq=10**9)) as ws,
    ):
        ws.recv(timeout=20)
    assert ahead.value.rcvd is not None
    assert ahead.value.rcvd.code == 4010
