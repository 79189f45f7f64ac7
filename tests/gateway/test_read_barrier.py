"""The read barrier: a read waits for every record committed when it arrived.

A gateway behind a shared port may be behind the log when a bot's read reaches it
after its write went through another gateway. ``Lagging`` is such a gateway's log: the
engine has committed (``head``) more than the follower has been given yet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import trio
import trio.testing

from engine.records import AnyRecord, RegisterTeam, SubmitOrder
from gateway.errors import WS_TRY_AGAIN
from gateway.service import Gateway
from gateway.service.gateway import READ_WAIT_SECONDS
from gateway.upstream.source import MemoryLog
from gateway.web import fastpath, ws
from gateway.web.rest import create_app
from tests.gateway.builders import Log, key_hash
from tests.gateway.core_engine import CoreEngine, quiet_config

KEY = "barrier-key"


class Lagging:
    """A committed log whose records reach the follower only up to ``released``."""

    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.released = log.head()
        self._moved = trio.Event()

    def head(self) -> int:
        return self.log.head()

    def nudge(self) -> None:
        pass  # a stuck follower: nudging does not help

    def read(self, from_seq: int, to_seq: int) -> Iterator[AnyRecord]:
        return self.log.read(from_seq, to_seq)

    def release(self) -> None:
        """Hand the follower what is committed now (it stays behind what comes later)."""
        self.released = self.log.head()
        self._moved.set()
        self._moved = trio.Event()

    async def follow(self, from_seq: int) -> AsyncIterator[AnyRecord]:
        next_seq = max(1, from_seq)
        while True:
            while next_seq <= self.released:
                yield self.log.records[next_seq - 1]
                next_seq += 1
            await self._moved.wait()


async def lagging_gateway(nursery: trio.Nursery) -> tuple[Gateway, CoreEngine, Lagging]:
    config = quiet_config()
    seed = Log()
    seed.start(config)
    log = MemoryLog(seed.records)
    engine = CoreEngine(log, config)
    await engine.request(
        RegisterTeam(team_name="name-TEAM_0001", role="hedge_fund", api_key_hash=key_hash(KEY))
    )
    lagging = Lagging(log)
    gw = Gateway(config, engine, lagging, gateway_id="gw-test")
    await nursery.start(gw.follow)
    await gw.caught_up.wait()
    return gw, engine, lagging


async def another_gateway_takes_an_order(engine: CoreEngine) -> int:
    """The write a bot made through another gateway: committed, answered, not yet here."""
    order = SubmitOrder(
        team_id="TEAM_0001",
        instrument_id="SPX_4400_CALL",
        side="buy",
        quantity=3,
        order_type="limit",
        price=1250,
    )
    return (await engine.request(order)).seq


async def test_a_read_waits_until_the_gateway_has_what_was_committed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        gw, engine, lagging = await lagging_gateway(nursery)
        await another_gateway_takes_an_order(engine)
        committed = engine.log.head()
        client = create_app(gw).test_client()
        answers: list[Any] = []

        async def read() -> None:
            answers.append(await client.get("/orders", headers={"X-API-Key": KEY}))

        nursery.start_soon(read)
        await trio.sleep(READ_WAIT_SECONDS / 2)
        assert answers == []  # still waiting: answering now would miss the order
        lagging.release()
        await trio.sleep(0.001)
        (answer,) = answers
        assert answer.status_code == 200
        orders = (await answer.get_json())["data"]["orders"]
        assert [o["instrument_id"] for o in orders] == ["SPX_4400_CALL"]
        assert int(answer.headers["X-Log-Seq"]) >= committed
        assert answer.headers["X-Gateway-Id"] == "gw-test"
        nursery.cancel_scope.cancel()


async def test_a_gateway_that_cannot_catch_up_answers_503(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        gw, engine, _ = await lagging_gateway(nursery)
        applied = gw.projection.applied_seq
        await another_gateway_takes_an_order(engine)
        client = create_app(gw).test_client()
        started = trio.current_time()
        answer = await client.get("/orders", headers={"X-API-Key": KEY})
        assert trio.current_time() - started == pytest.approx(READ_WAIT_SECONDS)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        body = await answer.get_json()
        assert body["success"] is False
        assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
        details = body["error"]["details"]
        assert details["committed_seq"] == engine.log.head()
        assert details["applied_seq"] == applied
        assert details["gateway_id"] == "gw-test"
        # /health answers at once on a lagging gateway: it is how the lag is seen
        health = await client.get("/health")
        assert (await health.get_json())["data"]["lag"] == engine.log.head() - applied
        assert (await health.get_json())["data"]["gateway_id"] == "gw-test"
        nursery.cancel_scope.cancel()


async def test_a_websocket_on_a_stuck_gateway_closes_with_try_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        gw, engine, _ = await lagging_gateway(nursery)
        await another_gateway_takes_an_order(engine)
        sent: list[dict[str, Any]] = []
        connect = iter([{"type": "websocket.connect"}])

        async def receive() -> dict[str, Any]:
            return next(connect)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "websocket", "path": "/ws", "query_string": f"api_key={KEY}".encode()}
        await ws.handle(gw, scope, receive, send)
        assert sent[0]["type"] == "websocket.accept"
        assert (b"x-gateway-id", b"gw-test") in sent[0]["headers"]
        assert sent[-1]["type"] == "websocket.close"
        assert sent[-1]["code"] == WS_TRY_AGAIN
        nursery.cancel_scope.cancel()


async def test_a_write_with_a_key_registered_elsewhere_waits_for_the_registration(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        gw, engine, lagging = await lagging_gateway(nursery)
        # registered through another gateway: committed, not yet applied here
        await engine.request(
            RegisterTeam(team_name="late", role="hedge_fund", api_key_hash=key_hash("late-key"))
        )
        body = b'{"instrument_id": "SPX_4400_CALL", "side": "buy", "quantity": 1, "price": 1.0}'
        requests = iter([{"type": "http.request", "body": body}])
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return next(requests)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/orders"}
        scope["headers"] = [(b"x-api-key", b"late-key")]

        async def keep_releasing() -> None:
            await trio.sleep(1.0)  # first a while stuck: the order must wait, not fail
            assert sent == []
            while True:
                lagging.release()
                await trio.sleep(0.01)

        nursery.start_soon(keep_releasing)
        await fastpath.submit_order(gw, scope, receive, send)
        start, answer = sent
        assert start["status"] == 200, answer
        assert (b"x-gateway-id", b"gw-test") in start["headers"]
        nursery.cancel_scope.cancel()
