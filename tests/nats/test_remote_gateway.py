"""A gateway on the stream serves what a gateway on the data dir serves, message for message.

Real processes: a NATS server, an engine with ``--nats``, one local gateway (data dir)
and one remote gateway (``--nats --session``, no data dir). Four bots trade through the
local gateway (two) and the remote one (two) while every bot's stream is followed on
both gateways; the streams must be equal, message for message, and gapless.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from engine.log.nats.server import LocalServer
from tests.chaos.cluster import Bot, acked, fair, trade
from tests.nats.session import gapless, nats_session, record_stream, register
from tests.procs import wait_until


def test_local_and_remote_gateways_serve_identical_streams(
    tmp_path: Path, nats_server: LocalServer
) -> None:
    with nats_session(tmp_path, nats_server.url) as s:
        data_dir = tmp_path / "engine"
        s.start_engine(data_dir)
        local = s.start_local_gateway(data_dir)
        remote = s.start_remote_gateway()
        bots = register(remote, 2, "remote") + register(local, 2, "local")
        streams: dict[tuple[str, int], list[dict[str, object]]] = {}
        stop_trading, stop_following = threading.Event(), threading.Event()
        threads = []
        for bot in bots:
            for port in (local, remote):
                out = streams.setdefault((bot.name, port), [])
                args = (bot.key, port, out, stop_following)
                threads.append(threading.Thread(target=record_stream, args=args))
        for i, bot in enumerate(bots):
            url = f"http://127.0.0.1:{remote if i < 2 else local}"
            threads.append(threading.Thread(target=trade, args=(bot, url, stop_trading, i)))
        for t in threads:
            t.start()
        try:
            wait_until(lambda: acked(bots) >= 400, 120, "400 acknowledged orders")
        finally:
            stop_trading.set()
        # read-your-writes on the remote gateway: its own answer is already projected
        _check_orders_visible(bots[0], remote)
        wait_until(lambda: _same(streams, bots, local, remote), 60, "both gateways to agree")
        stop_following.set()
        for t in threads:
            t.join(30)
        for bot in bots:
            here, there = streams[(bot.name, local)], streams[(bot.name, remote)]
            # the clock ticks on: one reader may have taken a message more before it stopped
            common = min(len(here), len(there))
            assert here[:common] == there[:common]
            assert gapless(here), bot.name
            assert gapless(there), bot.name
            assert common > 50
            assert not bot.other, bot.other[:3]
        for port in (local, remote):
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()["data"]
            assert health["lag"] == 0


def _same(
    streams: dict[tuple[str, int], list[dict[str, object]]], bots: list[Bot], a: int, b: int
) -> bool:
    return all(len(streams[(bot.name, a)]) == len(streams[(bot.name, b)]) > 0 for bot in bots)


def _check_orders_visible(bot: Bot, port: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": bot.key}) as c:
        price = round(fair(f"http://127.0.0.1:{port}", "SPX") * 0.9, 2)  # rests, in the band
        r = c.post(
            "/orders", json={"instrument_id": "SPX", "side": "buy", "quantity": 1, "price": price}
        )
        assert r.status_code == 200, r.text
        order_id = r.json()["order_id"]
        open_orders = c.get("/orders").json()["data"]["orders"]
        assert any(o["order_id"] == order_id for o in open_orders), open_orders
