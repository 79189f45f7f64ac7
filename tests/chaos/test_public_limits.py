"""Spectators and HTTP/2 cannot take the teams' WebSocket slots (issue 38 point 4).

Anonymous ``/ws/public`` sockets shared ``[gateway] ws_max_connections`` with the
teams' ``/ws``, so about a hundred of them locked every team out of its stream (close
1013); and over HTTP/2 (h2c) one TCP connection carried 100 WebSockets, whose streams
waited on flow control where the stuck-reader rule never looked. Now spectators have a
cap of their own, ``ws_max_public_connections``, and HTTP/2 is off.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from gateway.errors import WS_GATEWAY_FULL
from tests.chaos.churn import H2C
from tests.chaos.quiet import quiet_cluster
from tests.procs import wait_until

#: Two team slots; spectators' cap at its default (1000) or 3.
TEAMS_ONLY = "[gateway]\nws_max_connections = 2\n"
PUBLIC_CAP = TEAMS_ONLY + "ws_max_public_connections = 3\n"


def close_code(ws: ClientConnection) -> int | None:
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        while True:
            ws.recv(timeout=10)
    return ws.close_code


def answer(port: int, request: bytes) -> bytes:
    """Everything the server sends until it closes, or 10 s without a byte."""
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        with contextlib.suppress(TimeoutError):
            while chunk := s.recv(65536):
                data += chunk
    return data


def spectators(stack: contextlib.ExitStack, ws_url: str, count: int) -> None:
    for _ in range(count):
        ws = stack.enter_context(connect(f"{ws_url}/ws/public"))
        assert '"dashboard_snapshot"' in str(ws.recv(timeout=30))


def teams_get_in(stack: contextlib.ExitStack, ws_url: str, keys: list[str]) -> None:
    for key in keys:
        ws = stack.enter_context(connect(f"{ws_url}/ws?api_key={key}"))
        assert '"position_snapshot"' in str(ws.recv(timeout=30))  # not closed 1013


def test_spectators_never_take_a_teams_slot(tmp_path: Path) -> None:
    with quiet_cluster(tmp_path, TEAMS_ONLY) as q:
        ws_url = q.url.replace("http://", "ws://")
        keys = [q.team(f"desk-{i}", "hedge_fund")["api_key"] for i in range(2)]
        with contextlib.ExitStack() as stack:
            spectators(stack, ws_url, 5)  # more than every team slot
            teams_get_in(stack, ws_url, keys)


def test_spectators_have_a_cap_of_their_own(tmp_path: Path) -> None:
    with quiet_cluster(tmp_path, PUBLIC_CAP) as q:
        ws_url = q.url.replace("http://", "ws://")
        keys = [q.team(f"desk-{i}", "hedge_fund")["api_key"] for i in range(2)]
        with contextlib.ExitStack() as stack:
            spectators(stack, ws_url, 3)
            with connect(f"{ws_url}/ws/public") as refused:
                assert close_code(refused) == WS_GATEWAY_FULL
                assert refused.close_reason == "public streams full (at most 3)"
            teams_get_in(stack, ws_url, keys)


def test_http2_is_refused_and_an_h2c_upgrade_answered_in_http_1_1(tmp_path: Path) -> None:
    with quiet_cluster(tmp_path) as q:
        port = int(q.url.rsplit(":", 1)[1])
        start = len(q.gateway.lines)
        reply = answer(port, H2C)  # prior knowledge: the preface and a SETTINGS frame
        assert reply.startswith(b"HTTP/1.1 505 "), reply[:80]
        upgrade = (
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
        )
        reply = answer(port, upgrade)
        assert reply.startswith(b"HTTP/1.1 200 "), reply[:80]  # not 101 Switching Protocols
        # the gateway's stderr is read by another thread: its line comes when it comes
        wait_until(
            lambda: any("HTTP/2 is off" in line for line in q.gateway.lines[start:]),
            30,
            "the gateway's line about HTTP/2",
        )
        assert not [line for line in q.gateway.lines[start:] if "Traceback" in line]
