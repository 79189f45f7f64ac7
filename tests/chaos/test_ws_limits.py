"""WebSocket limits with real processes: a client that never reads, SIGTERM, the cap.

A "stuck" client is a raw socket with a 4 KiB receive buffer that completes the
upgrade and then never reads again, as a crashed or hostile bot would. Traffic (the
house quoting every instrument every 50 ms, and the stuck team's own order acks) fills
its buffers until the gateway's write to it stalls and its bounded queue overflows.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from engine.ports import free_port
from gateway.errors import WS_GATEWAY_FULL, WS_TOO_MANY_CONNECTIONS
from tests.chaos.cluster import CHAOS_CONFIG, Bot, Cluster
from tests.procs import wait_until

BUSY = """
[schedule]
tick_seconds = 0.05
pre_open_ticks = 1
auction_ticks = 1
[retail]
enabled = false
[roles.market_maker]
orders_per_second = 100000
limit_per_option = 1000000
limit_per_underlying = 1000000
total_limit = 1000000000
"""


@contextlib.contextmanager
def gateway_with(tmp: Path, text: str) -> Iterator[Cluster]:
    config = tmp / "limits.toml"
    config.write_text(text)
    c = Cluster(tmp, tmp / "session", config, free_port())
    try:
        c.start_engine()
        c.start_gateway()
        yield c
    finally:
        for proc in (c.gateway, c.engine):
            if proc is not None:
                proc.stop()


def upgrade(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def stuck_client(port: int, key: str) -> socket.socket:
    """Upgrade, read exactly the 101 answer, then never read again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(upgrade(f"/ws?api_key={key}"))
    head = b""
    while b"\r\n\r\n" not in head:
        byte = sock.recv(1)
        assert byte, head
        head += byte
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def drain(sock: socket.socket) -> None:
    while sock.recv(65536):
        pass


def metric(c: Cluster, name: str) -> float:
    for line in httpx.get(f"{c.url}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def close_code(ws: ClientConnection) -> int | None:
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        while True:
            ws.recv(timeout=10)
    return ws.close_code


def post_orders(c: Cluster, bot: Bot, stop: threading.Event) -> None:
    """Acks for the stuck team's own stream, as fast as the gateway answers."""
    with httpx.Client(base_url=c.url, headers={"X-API-Key": bot.key}, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            price = 1.00 + (n % 50) * 0.01
            order = {"instrument_id": "SPX_4400_CALL", "side": "buy", "quantity": 1, "price": price}
            try:
                client.post("/orders", json=order)
            except httpx.HTTPError:
                return  # the gateway was stopped


def reader(port: int, bot: Bot, stop: threading.Event) -> None:
    """A healthy client on another team: every seq, in order."""
    url = f"ws://127.0.0.1:{port}/ws?api_key={bot.key}&last_seq=0"
    with connect(url, max_size=None) as ws, contextlib.suppress(ConnectionClosed):
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                message = ws.recv(timeout=0.5)
                bot.stream.append({"seq": int(str(message)[7:].split(",", 1)[0])})


Stall = tuple[socket.socket, list[threading.Thread], threading.Event]


def stall(c: Cluster, stuck_bot: Bot, healthy: Bot) -> Stall:
    stop = threading.Event()
    sock = stuck_client(c.port, stuck_bot.key)
    threads = [
        threading.Thread(target=post_orders, args=(c, stuck_bot, stop), daemon=True),
        threading.Thread(target=reader, args=(c.port, healthy, stop), daemon=True),
    ]
    for t in threads:
        t.start()
    return sock, threads, stop


def test_a_client_that_never_reads_is_aborted_and_its_slot_reused(tmp_path: Path) -> None:
    slow_seconds = 1.0
    text = BUSY + (
        f"[gateway]\nws_queue_size = 64\nslow_client_seconds = {slow_seconds}\n"
        "ws_max_connections_per_team = 1\n"
    )
    with gateway_with(tmp_path, text) as c:
        stuck_bot, healthy = c.register(2)
        sock, threads, stop = stall(c, stuck_bot, healthy)
        try:
            url = f"ws://127.0.0.1:{c.port}/ws?api_key={stuck_bot.key}"
            with connect(url) as second:  # the stuck connection holds the team's one slot
                assert close_code(second) == WS_TOO_MANY_CONNECTIONS
            wait_until(lambda: metric(c, "tradepit_ws_slow_disconnects_total") >= 1, 60,
                       "the stuck client's queue to overflow")  # fmt: skip
            overflowed = time.monotonic()

            def slot_free() -> bool:
                with connect(url) as again:
                    try:
                        return '"position_snapshot"' in str(again.recv(timeout=10))
                    except ConnectionClosed:
                        return False  # 4029: not yet

            wait_until(slot_free, 30, "the slot to be free again")
            freed = time.monotonic() - overflowed
            print(f"stuck client: slot free {freed:.2f} s after its queue overflowed "
                  f"(slow_client_seconds = {slow_seconds})")  # fmt: skip
            assert freed < slow_seconds + 5.0
            assert metric(c, "tradepit_ws_aborted_total") >= 1
            # the transport was reset: the stuck socket errors once it reads again
            sock.settimeout(10)
            with pytest.raises(ConnectionResetError):
                drain(sock)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
            sock.close()
        seqs = [m["seq"] for m in healthy.stream]
        assert len(seqs) > 100  # it kept flowing throughout
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate


def test_sigterm_stops_a_gateway_with_a_stuck_client_within_2_s(tmp_path: Path) -> None:
    text = BUSY + "[gateway]\nws_queue_size = 64\nslow_client_seconds = 600\n"
    with gateway_with(tmp_path, text) as c:
        stuck_bot, healthy = c.register(2)
        sock, threads, stop = stall(c, stuck_bot, healthy)
        try:
            wait_until(lambda: metric(c, "tradepit_ws_slow_disconnects_total") >= 1, 60,
                       "the stuck client's queue to overflow")  # fmt: skip
            assert c.gateway is not None
            started = time.monotonic()
            c.gateway.stop(timeout=30)
            took = time.monotonic() - started
            print(f"SIGTERM with a stuck client: the gateway exited in {took:.2f} s")
            assert took < 2.0
        finally:
            stop.set()
            for t in threads:
                t.join(30)
            sock.close()


def test_connections_per_gateway_are_capped_with_1013(tmp_path: Path) -> None:
    text = CHAOS_CONFIG + "[gateway]\nws_max_connections = 4\n"
    with gateway_with(tmp_path, text) as c:
        bots = c.register(2)
        urls = [f"ws://127.0.0.1:{c.port}/ws?api_key={b.key}" for b in bots]
        with contextlib.ExitStack() as stack:
            held = [stack.enter_context(connect(urls[i % 2])) for i in range(4)]
            for ws in held:
                assert '"seq"' in str(ws.recv(timeout=10))
            with connect(urls[0]) as refused:
                assert close_code(refused) == WS_GATEWAY_FULL
                assert refused.close_reason == "gateway full (at most 4 connections)"
            assert httpx.get(f"{c.url}/health", timeout=10).status_code == 200
            held[0].close()

            def accepted() -> bool:
                with connect(urls[1]) as ws:
                    try:
                        return '"seq"' in str(ws.recv(timeout=10))
                    except ConnectionClosed:
                        return False  # 1013: not yet

            wait_until(accepted, 30, "a freed slot to be taken")
