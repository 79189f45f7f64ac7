"""A malformed upgrade request is one log line, never a traceback (issue 13, attack 7).

An upgrade request followed by bytes before the switch once answered 400 and printed two
tracebacks (hypercorn's and the root logger's) each: 8.7 MB of server log in 5 s. A real
gateway now answers it 400 and closes, adds at most one line per request (fewer once
the rate limit of gateway/web/refusals.py holds them back), and goes on serving.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.chaos.quiet import Quiet, quiet_cluster

ATTEMPTS = 40


def malformed(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\ntrailing bytes that are not a WebSocket frame"
    ).encode()


@pytest.fixture
def quiet(tmp_path: Path) -> Iterator[Quiet]:
    with quiet_cluster(tmp_path) as q:
        yield q


def answer(port: int, request: bytes) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        while chunk := s.recv(65536):
            data += chunk
    return data


# /ws/public and paths without a WebSocket (refused 403) printed the two tracebacks
# after /ws stopped (issue 38 point 6)
@pytest.mark.parametrize("path", ["/ws", "/ws/public", "/no-websocket-here"])
def test_an_upgrade_with_trailing_bytes_is_400_and_one_line_without_a_traceback(
    quiet: Quiet, path: str
) -> None:
    port = int(quiet.url.rsplit(":", 1)[1])
    start = len(quiet.gateway.lines)
    for _ in range(ATTEMPTS):
        reply = answer(port, malformed(path))
        assert reply.startswith(b"HTTP/1.1 400 "), reply
        assert reply.endswith(b"\r\n\r\n"), reply  # and nothing after: no WebSocket frame
    assert httpx.get(f"{quiet.url}/health", timeout=30).status_code == 200
    team = quiet.team("after-the-flood", "hedge_fund")
    with connect(f"ws://127.0.0.1:{port}/ws?api_key={team['api_key']}") as ws:
        assert '"position_snapshot"' in str(ws.recv(timeout=30))
    written = quiet.gateway.lines[start:]
    assert not [line for line in written if "Traceback" in line or "Error in ASGI" in line]
    refused = [line for line in written if "refused a WebSocket upgrade" in line]
    print(f"{ATTEMPTS} malformed upgrades: {len(refused)} log lines, {len(written)} in all")
    assert 1 <= len(refused) <= ATTEMPTS
    assert len(written) <= ATTEMPTS  # nothing else per request
