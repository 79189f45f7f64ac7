"""SIGKILL a gateway: a bot moves to another gateway and resumes by seq; a restarted
gateway rebuilds its state from the log and serves the same streams."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from engine.ports import free_port
from tests.chaos.cluster import Cluster, fair
from tests.procs import Proc


def messages(port: int, key: str, after: int, until_seq: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    with connect(f"ws://127.0.0.1:{port}/ws?api_key={key}&last_seq={after}") as ws:
        while not out or int(str(out[-1]["seq"])) < until_seq:
            out.append(json.loads(ws.recv(timeout=30)))
    return out


def ack_seq(port: int, key: str, order_id: str) -> int:
    """The seq of the order's new_order_ack, read from the start of the team's stream."""
    with connect(f"ws://127.0.0.1:{port}/ws?api_key={key}&last_seq=0") as ws:
        while True:
            m = json.loads(ws.recv(timeout=30))
            if m["type"] == "new_order_ack" and m["data"]["order_id"] == order_id:
                return int(m["seq"])


@pytest.mark.slow
def test_a_bot_resumes_on_another_gateway_and_a_restart_rebuilds(
    cluster: Cluster, tmp_path: Path
) -> None:
    second_port = free_port()
    second = Proc.tradepit(
        "gateway",
        "--data-dir",
        str(cluster.session),
        "--port",
        str(second_port),
        "--config",
        str(cluster.config),
        log=tmp_path / "gateway2.log",
    )
    try:
        second.wait_for("gateway on")
        [bot] = cluster.register(1)
        headers = {"X-API-Key": bot.key}
        for n in range(10):
            r = httpx.post(
                f"{cluster.url}/orders",
                headers=headers,
                timeout=10,
                json={
                    "instrument_id": "SPY",
                    "side": "buy",
                    "quantity": 1,
                    # the underlying, under fair value: the orders rest for the whole test,
                    # and an option's band would move under them with the volatility regime
                    "price": round(fair(cluster.url, "SPY") * 0.9 + n / 100, 2),
                },
            )
            assert r.status_code == 200, r.text
        before = messages(cluster.port, bot.key, 0, 12)
        assert cluster.gateway is not None
        cluster.gateway.kill()  # SIGKILL

        # the bot moves to the other gateway and resumes after what it saw
        r = httpx.post(
            f"http://127.0.0.1:{second_port}/orders",
            headers=headers,
            timeout=10,
            json={
                "instrument_id": "SPY",
                "side": "buy",
                "quantity": 1,
                "price": round(fair(f"http://127.0.0.1:{second_port}", "SPY") * 0.85, 2),
            },
        )
        assert r.status_code == 200, r.text
        last = before[-1]["seq"]
        after = messages(second_port, bot.key, int(str(last)), int(str(last)) + 8)
        assert [m["seq"] for m in after] == list(range(int(str(last)) + 1, int(str(last)) + 9))
        # the order's ack is in the stream (after the ticks' own messages in between)
        assert ack_seq(second_port, bot.key, r.json()["order_id"]) > int(str(last))

        # a restarted gateway rebuilds everything from the log: the same stream, seq for seq
        cluster.start_gateway()
        head = int(str(after[-1]["seq"]))
        rebuilt = messages(cluster.port, bot.key, 0, head)
        other = messages(second_port, bot.key, 0, head)
        assert rebuilt == other
        positions = [
            httpx.get(f"http://127.0.0.1:{p}/positions", headers=headers, timeout=10).json()["data"]
            for p in (cluster.port, second_port)
        ]
        assert positions[0]["positions"] == positions[1]["positions"]
        orders = [
            httpx.get(f"http://127.0.0.1:{p}/orders", headers=headers, timeout=10).json()["data"]
            for p in (cluster.port, second_port)
        ]
        assert orders[0] == orders[1]
        assert len(orders[0]["orders"]) == 11
    finally:
        second.stop()
