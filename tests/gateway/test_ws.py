"""``/ws`` on a real socket: snapshot, resume by seq, close codes, slow consumers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    connect_websocket_url,
    open_websocket_url,
)
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Ping, Pong, Request, TextMessage

from engine.records import News, TickStarted, TrackingSignal, VolatilitySignal
from gateway.errors import WS_BAD_KEY, WS_SLOW_CONSUMER, WS_TOO_MANY_CONNECTIONS
from tests.gateway.conftest import Server, gateway_config, start

ORDER = {"instrument_id": "SPX_4400_CALL", "side": "buy", "quantity": 3, "price": 12.5}


async def recv(ws: WebSocketConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.get_message())
    return message


async def recv_n(ws: WebSocketConnection, n: int) -> list[dict[str, Any]]:
    return [await recv(ws) for _ in range(n)]


async def closed_with(ws: WebSocketConnection) -> tuple[int, str | None]:
    """Read until the server closes; its close code and reason."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await ws.get_message()
    await release(ws)
    reason = ws.closed
    assert reason is not None
    return reason.code, reason.reason


async def release(ws: WebSocketConnection) -> None:
    """Close the client's socket after a close the *server* started.

    trio-websocket 0.12 leaves it open: on the server's TCP close its reader stops
    without closing the stream, and ``aclose`` returns early on a closed WebSocket.
    """
    await ws._close_stream()


def tick(n: int) -> TickStarted:
    return TickStarted(tick_number=n, phase="continuous", digest="d")


async def test_a_new_team_sees_1_2_3_from_its_registration(server: Server) -> None:
    with trio.fail_after(10):
        team = await server.register("alpha")
        key = {"X-API-Key": team["api_key"]}
        server.engine.emit(tick(1))
        await server.http.post("/orders", headers=key, json=ORDER)
        async with open_websocket_url(f"{server.ws_url}?api_key={team['api_key']}") as ws:
            first = await recv(ws)
            assert first["seq"] == 1
            assert first["type"] == "position_snapshot"
            assert first["data"]["positions"] == {}
            rest = await recv_n(ws, 2)
            assert [(m["seq"], m["type"]) for m in rest] == [
                (2, "tick_start"),
                (3, "new_order_ack"),
            ]
            assert rest[0]["data"] == {"tick_number": 1, "phase": "continuous"}
            server.engine.emit(tick(2))
            live = await recv(ws)
            assert (live["seq"], live["type"]) == (4, "tick_start")


async def test_a_later_fresh_connection_gets_a_snapshot_at_the_head(server: Server) -> None:
    with trio.fail_after(10):
        maker = await server.register("maker", "market_maker")
        taker = await server.register("taker")
        url = f"{server.ws_url}?api_key={taker['api_key']}"
        async with open_websocket_url(url) as ws:
            assert (await recv(ws))["seq"] == 1
        await server.http.post(
            "/orders",
            headers={"X-API-Key": maker["api_key"]},
            json={**ORDER, "side": "sell", "price": 12.0},
        )
        await server.http.post("/orders", headers={"X-API-Key": taker["api_key"]}, json=ORDER)
        head = server.gw.streams.head(taker["team_id"])
        assert head == 3  # snapshot, ack, fill
        async with open_websocket_url(url) as ws:
            snapshot = await recv(ws)
            assert snapshot["type"] == "position_snapshot"
            assert snapshot["seq"] == head
            assert snapshot["data"]["positions"] == {"SPX_4400_CALL": 3}
            server.engine.emit(tick(1))
            assert (await recv(ws))["seq"] == head + 1


async def test_resume_after_every_seq_has_no_gap_and_no_duplicate(server: Server) -> None:
    with trio.fail_after(20):
        team = await server.register("resumer")
        key = {"X-API-Key": team["api_key"]}
        for i in range(4):
            server.engine.emit(tick(i + 1))
            await server.http.post("/orders", headers=key, json={**ORDER, "price": 10 + i})
        head = server.gw.streams.head(team["team_id"])
        assert head == 9
        for last in range(head + 1):
            url = f"{server.ws_url}?api_key={team['api_key']}&last_seq={last}"
            async with open_websocket_url(url) as ws:
                got = [m["seq"] for m in await recv_n(ws, head - last)]
                server.engine.emit(tick(100 + last))
                got.append((await recv(ws))["seq"])
            head += 1
            assert got == list(range(last + 1, head + 1)), last


async def test_signals_and_news_reach_the_right_teams(server: Server) -> None:
    with trio.fail_after(10):
        teams = {
            role: await server.register(f"t-{role}", role)
            for role in ("hedge_fund", "arbitrage", "retail")
        }
        sockets = {}
        async with trio.open_nursery() as nursery:
            for role, team in teams.items():
                url = f"{server.ws_url}?api_key={team['api_key']}"
                sockets[role] = await connect_websocket_url(nursery, url)
            server.engine.emit(
                VolatilitySignal(
                    tick_number=1,
                    current_regime="low",
                    forecast="high",
                    confidence=0.7,
                    ticks_until_change=2,
                ),
                TrackingSignal(
                    tick_number=1,
                    spx_price=440_000,
                    spy_price=44_100,
                    theoretical_spy=44_000,
                    tracking_error_bps=-23,
                    direction="SPY_CHEAP",
                    z_score=-2.0,
                ),
                News(tick_number=1, headline="Strong jobs report", effect="none"),
            )
            got = {
                role: [m["type"] for m in await recv_n(ws, 3 if role != "retail" else 2)]
                for role, ws in sockets.items()
            }
            for ws in sockets.values():
                await ws.aclose()
            nursery.cancel_scope.cancel()
        assert got == {
            "hedge_fund": ["position_snapshot", "signal", "event"],
            "arbitrage": ["position_snapshot", "signal", "event"],
            "retail": ["position_snapshot", "event"],
        }


@pytest.mark.parametrize(
    "query", ["", "?api_key=", "?api_key=wrong", "?api_key=K&last_seq=x", "?api_key=K&last_seq=-1"]
)
async def test_bad_key_or_last_seq_closes_1008(server: Server, query: str) -> None:
    with trio.fail_after(10):
        team = await server.register("keyed")
        async with open_websocket_url(
            server.ws_url + query.replace("=K", "=" + team["api_key"])
        ) as ws:
            code, reason = await closed_with(ws)
        assert code == WS_BAD_KEY
        assert reason


async def test_too_many_connections_per_team(nursery: trio.Nursery) -> None:
    async for server in start(nursery, gateway_config(ws_max_connections_per_team=2)):
        with trio.fail_after(10):
            team = await server.register("crowd")
            url = f"{server.ws_url}?api_key={team['api_key']}"
            async with open_websocket_url(url) as a, open_websocket_url(url) as b:
                await recv(a)
                await recv(b)
                async with open_websocket_url(url) as c:
                    code, reason = await closed_with(c)
                assert code == WS_TOO_MANY_CONNECTIONS
                assert reason is not None
                assert "too many" in reason
            await trio.testing.wait_all_tasks_blocked()
            # the two closed connections were noticed and released (hypercorn #210)
            assert server.gw.streams.connections[team["team_id"]] == 0
            async with open_websocket_url(url) as d:
                assert (await recv(d))["type"] == "position_snapshot"


async def test_a_slow_consumer_is_closed_and_others_keep_flowing(nursery: trio.Nursery) -> None:
    async for server in start(nursery, gateway_config(ws_queue_size=4)):
        with trio.fail_after(30):
            slow_team = await server.register("slowpoke")
            fast_team = await server.register("speedy")
            slow = await connect_websocket_url(
                nursery, f"{server.ws_url}?api_key={slow_team['api_key']}", message_queue_size=1
            )
            fast = await connect_websocket_url(
                nursery, f"{server.ws_url}?api_key={fast_team['api_key']}"
            )
            assert (await recv(fast))["seq"] == 1
            headline = "x" * 20_000
            total = 0
            # big messages until the slow socket's buffers are full and its channel overflows
            while server.gw.streams.slow_disconnects == 0:
                server.engine.emit(News(tick_number=total, headline=headline, effect="none"))
                total += 1
                assert (await recv(fast))["seq"] == total + 1  # never held up by the slow one
                assert total < 5000
            seqs: list[int] = []
            with contextlib.suppress(ConnectionClosed):
                while True:
                    seqs.append((await recv(slow))["seq"])
            await release(slow)
            assert slow.closed is not None
            assert slow.closed.code == WS_SLOW_CONSUMER
            assert slow.closed.reason == "slow consumer: resume with last_seq"
            assert seqs == list(range(1, len(seqs) + 1))
            # it resumes by seq with nothing missing
            url = f"{server.ws_url}?api_key={slow_team['api_key']}&last_seq={seqs[-1]}"
            async with open_websocket_url(url) as again:
                rest = [m["seq"] for m in await recv_n(again, total + 1 - seqs[-1])]
            assert rest == list(range(seqs[-1] + 1, total + 2))
            await fast.aclose()


def upgrade(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def test_upgrade_with_trailing_data_does_not_break_the_server(server: Server) -> None:
    # hypercorn #225: an upgrade request followed by more bytes in the same packet
    with trio.fail_after(10):
        team = await server.register("trailer")
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        async with stream:
            trailing = b"\x00garbage-after-upgrade\xff" * 10
            await stream.send_all(upgrade(f"/ws?api_key={team['api_key']}") + trailing)
            await stream.receive_some(4096)
        r = await server.http.get("/health")
        assert r.status_code == 200


async def test_a_websocket_to_another_path_is_refused(server: Server) -> None:
    with trio.fail_after(10):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        async with stream:
            await stream.send_all(upgrade("/other"))
            answer = await stream.receive_some(4096)
        assert answer.startswith(b"HTTP/1.1 403")


class BeatingStream:
    """Reads a stream with heartbeats, checking each against the messages before it."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.seen = 0
        self.beats: list[int] = []

    async def until(self, kind: str) -> dict[str, Any]:
        while True:
            message = await recv(self.ws)
            if message["type"] == "heartbeat":
                assert "seq" not in message  # why it is opt-in
                assert message["data"]["last_seq"] <= self.seen  # never ahead of the stream
                self.beats.append(message["data"]["last_seq"])
            else:
                assert message["seq"] == self.seen + 1
                self.seen = message["seq"]
            if message["type"] == kind:
                return message


async def test_an_opted_in_heartbeat_names_the_last_seq_sent(nursery: trio.Nursery) -> None:
    async for server in start(nursery, gateway_config(heartbeat_seconds=0.05)):
        with trio.fail_after(10):
            team = await server.register("beating")
            server.engine.emit(tick(1))
            url = f"{server.ws_url}?api_key={team['api_key']}&heartbeat=1"
            async with open_websocket_url(url) as ws:
                stream = BeatingStream(ws)
                await stream.until("tick_start")
                assert stream.seen == 2
                assert (await stream.until("heartbeat"))["data"] == {"last_seq": 2}
                server.engine.emit(tick(2))
                await stream.until("tick_start")
                assert (await stream.until("heartbeat"))["data"] == {"last_seq": 3}
                assert stream.beats == sorted(stream.beats)
            async with open_websocket_url(f"{server.ws_url}?api_key={team['api_key']}") as ws:
                assert (await recv(ws))["type"] == "position_snapshot"
                server.engine.emit(tick(3))
                assert (await recv(ws))["type"] == "tick_start"  # no heartbeat unless asked


async def test_a_bad_heartbeat_value_closes_1008(server: Server) -> None:
    with trio.fail_after(10):
        team = await server.register("bad-beat")
        async with open_websocket_url(
            f"{server.ws_url}?api_key={team['api_key']}&heartbeat=often"
        ) as ws:
            code, reason = await closed_with(ws)
        assert code == WS_BAD_KEY
        assert reason == "heartbeat must be 1 or 0"


async def test_client_frames_split_across_reads_or_not_simple_all_arrive(server: Server) -> None:
    """The simple frames the gateway reads without wsproto (``client_messages``) and the
    others it leaves to wsproto, mixed: each message answered, the ping ponged, in order."""
    team = await server.register("framer")
    client = WSConnection(ConnectionType.CLIENT)

    def ask(n: int) -> str:
        return json.dumps({"type": "teleport", "request_id": f"m{n}"})

    with trio.fail_after(10):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        async with stream:
            target = f"/ws?api_key={team['api_key']}&stream=0"
            await stream.send_all(client.send(Request(host="x", target=target)))
            events: list[object] = []

            async def read_until(done: Callable[[], bool]) -> None:
                while not done():
                    client.receive_data(await stream.receive_some(65536))
                    events.extend(client.events())

            await read_until(lambda: any(isinstance(e, AcceptConnection) for e in events))
            # a binary message (not JSON: answered without a request_id) masked with zeros,
            # whose second half looks like a whole frame of its own: it must stay data
            inner = b"\x81\x85\x00\x00\x00\x00hello"
            second = bytes((0x82, 0x80 | (7 + len(inner)), 0, 0, 0, 0)) + b'{"x":1}' + inner
            fragment = client.send(TextMessage(data=ask(4)[:10], message_finished=False))
            rest = client.send(TextMessage(data=ask(4)[10:], message_finished=True))
            # a whole frame and half of one; the rest of it, a ping, a fragmented message
            await stream.send_all(client.send(TextMessage(data=ask(1))) + second[:13])
            await trio.sleep(0.05)
            await stream.send_all(second[13:] + client.send(Ping(b"p")) + fragment)
            await trio.sleep(0.05)
            await stream.send_all(rest + client.send(TextMessage(data=ask(5))))

            def answers() -> list[str | None]:
                return [
                    json.loads(e.data)["request_id"] for e in events if isinstance(e, TextMessage)
                ]

            await read_until(lambda: len(answers()) == 4)
    assert answers() == ["m1", None, "m4", "m5"]
    assert any(isinstance(e, Pong) and e.payload == b"p" for e in events)
