"""The bot kit's stream under faults, against real processes: its messages equal the log's.

One engine and one gateway (tests/chaos/cluster.py). A bot places orders with the
library while its connection is dropped 20 times at seeded random moments, and the
engine and then the gateway are SIGKILLed and restarted under it. Afterwards the
messages the stream delivered are exactly the team's messages as the server serves
them from its log (``GET /events``), seq for seq; the local state agrees with the REST
answers; and no order was placed twice although answers were lost.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
from tradepit import Client, Stream
from tradepit.models import OrderResult

from engine import log as logmod
from engine.records import OrderAccepted
from tests.chaos.cluster import Cluster, running_cluster

DROPS = 20


async def _server_stream(url: str, key: str, upto: int) -> list[dict[str, Any]]:
    async with Client(url, key) as reader:
        out = [m async for m in reader.events_from(0)]
    return [m for m in out if m["seq"] <= upto]


async def _until(condition: Any, timeout: float, what: str) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)
    assert condition(), what


async def _scenario(cluster: Cluster) -> None:
    rng = random.Random(11)
    async with Client(cluster.url, orders_per_second=40, retry_for=120) as client:
        await client.register("resync-bot", "market_maker")
        assert client.api_key is not None
        stream = Stream(client, last_seq=0)
        received: list[bytes] = []
        placed: list[OrderResult] = []
        stop = asyncio.Event()

        async def follow() -> None:
            async for _, raw in stream:
                received.append(raw)

        # buys at 90% of the underlyings' fair values: inside the price band, which an
        # underlying's slow moves do not shift far, and below any seller, so every order
        # rests and each client id stays live
        underlyings = ("SPX", "SPY")
        floor: dict[str, float] = {}
        for iid in underlyings:
            book = await client.orderbook(iid)
            assert book.fair is not None
            floor[iid] = book.fair * 0.9

        async def trade() -> None:
            n = 0
            while not stop.is_set():
                iid = underlyings[n % 2]
                price = round(floor[iid] + (n % 50) / 100, 2)
                placed.append(await client.place_order(iid, "buy", 1, price))
                n += 1
                await asyncio.sleep(0.02)

        follower = asyncio.create_task(follow())
        trader = asyncio.create_task(trade())
        try:
            for i in range(DROPS):
                await _until(lambda: stream.connected, 60, "a connection to drop")
                await asyncio.sleep(rng.uniform(0.05, 0.5))
                await stream.drop()
                if i == 6:
                    assert cluster.engine is not None
                    await asyncio.to_thread(cluster.engine.kill)
                    await asyncio.sleep(0.5)
                    await asyncio.to_thread(cluster.start_engine)
                if i == 13:
                    assert cluster.gateway is not None
                    await asyncio.to_thread(cluster.gateway.kill)
                    await asyncio.sleep(0.5)
                    await asyncio.to_thread(cluster.start_gateway)
            await _until(lambda: len(placed) >= 50, 60, "orders after the faults")
            stop.set()
            await asyncio.wait_for(trader, 120)
            head = (await client.events(0, 1)).last_seq
            await _until(lambda: (stream.last_seq or 0) >= head, 60, "the stream at the head")
        finally:
            stop.set()
            stream.close()
            follower.cancel()
            trader.cancel()
            await asyncio.gather(follower, trader, return_exceptions=True)

        got = [msgspec.json.decode(raw) for raw in received]
        assert [m["seq"] for m in got] == list(range(1, len(got) + 1))
        assert got == await _server_stream(cluster.url, client.api_key, got[-1]["seq"])
        # each drop closed a connection of its own (the last resume may still be paging)
        assert stream.connects >= DROPS
        assert stream.pages >= stream.connects - 1  # each resume paged /events first
        assert client.retries > 0  # the kills really refused or lost requests

        # the state kept from the stream is what REST says
        rest_orders = {o.order_id for o in await client.orders()}
        assert set(stream.state.orders) == rest_orders
        assert {p.order_id for p in placed} == rest_orders
        positions = await client.positions()
        assert stream.state.positions == positions.positions

    # no client order id was placed twice, however many times it was sent
    with logmod.open_reader(cluster.session / "log") as reader:
        accepted = Counter(
            r.client_order_id
            for r in reader.read(1)
            if isinstance(r, OrderAccepted) and not r.duplicate and r.client_order_id
        )
    assert len(accepted) == len(placed)
    assert set(accepted.values()) == {1}


def test_stream_equals_the_log_through_drops_and_kills(tmp_path: Path) -> None:
    with running_cluster(tmp_path, tmp_path / "session") as cluster:
        cluster.wait_continuous()
        asyncio.run(_scenario(cluster))
