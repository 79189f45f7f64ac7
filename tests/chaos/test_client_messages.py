"""A client's WebSocket messages are small or closed 1009 (issue 38 point 6).

A spectator's stream reads nothing from the client, yet hypercorn buffered each message
up to 16 MiB: 20 sockets on ``/ws/public`` took a gateway up by 218 MB. Now a message
over ``CLIENT_MESSAGE_BYTES`` is closed 1009 (message too big) on ``/ws/public``, and
on a team's ``/ws`` (which takes order entry) one over ``team_message_bytes``. The rest
of it, however long, is read through without being kept: the gateway's peak RSS
(VmHWM) hardly moves while sockets send 16 MiB frames.
"""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from engine.config import GatewayConfig
from gateway.web.hypercorn_tuning import CLIENT_MESSAGE_BYTES, team_message_bytes
from tests.chaos.churn import UPGRADE
from tests.chaos.quiet import Quiet, quiet_cluster

MESSAGE_TOO_BIG = 1009
MAX_BODY_BYTES = GatewayConfig().max_body_bytes
#: Sockets sending one large frame each, at once, and the frame's length.
SENDERS = 4
FRAME = 16 * 1024 * 1024
SLACK = 16 * 1024 * 1024


@pytest.fixture
def quiet(tmp_path: Path) -> Iterator[Quiet]:
    with quiet_cluster(tmp_path) as q:
        yield q


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def closes_1009(ws: ClientConnection, url: str) -> None:
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        while True:
            ws.recv(timeout=30)
    assert ws.close_code == MESSAGE_TOO_BIG, url


def test_a_message_over_the_limit_is_closed_1009_on_both_streams(quiet: Quiet) -> None:
    key = quiet.team("talkative", "hedge_fund")["api_key"]
    base = quiet.url.replace("http://", "ws://")
    public = f"{base}/ws/public"
    with connect(public, max_size=None) as ws:
        ws.recv(timeout=30)  # the snapshot: the stream is open
        ws.send("x" * CLIENT_MESSAGE_BYTES)  # at the limit: taken (and dropped)
        ws.send("x" * (CLIENT_MESSAGE_BYTES + 1))
        closes_1009(ws, public)
    # a team's socket takes order entry: a request over max_body_bytes is answered, one
    # over twice that is closed
    team = f"{base}/ws?api_key={key}"
    limit = team_message_bytes(MAX_BODY_BYTES)
    with connect(team, max_size=None) as ws:
        ws.recv(timeout=30)
        ws.send("x" * (MAX_BODY_BYTES + 1024))  # not JSON, and too large: answered
        while (answer := json.loads(ws.recv(timeout=30))).get("type") != "response":
            pass
        assert answer["error"]["code"] == "PAYLOAD_TOO_LARGE"
        ws.send("x" * (limit + 1))
        closes_1009(ws, team)


async def send_one_large_frame(port: int) -> bytes:
    """A masked text frame of ``FRAME`` bytes (mask 0: the payload as is); the reply."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(UPGRADE)
        head = b""
        while b"\r\n\r\n" not in head:  # bytes before the 101 would be refused 400
            head += await stream.receive_some(1)
        assert head.startswith(b"HTTP/1.1 101 "), head
        await stream.send_all(struct.pack("!BBQ", 0x81, 0x80 | 127, FRAME) + bytes(4))
        chunk = b"x" * 65536
        for _ in range(FRAME // len(chunk)):
            await stream.send_all(chunk)
        reply = b""
        while b"\x88\x02" + struct.pack("!H", MESSAGE_TOO_BIG) not in reply:
            data = await stream.receive_some(65536)
            assert data, reply[:200]
            reply += data
        return reply


def test_large_frames_are_not_kept_in_memory(quiet: Quiet) -> None:
    port = int(quiet.url.rsplit(":", 1)[1])
    pid = quiet.gateway.proc.pid
    before = peak_rss(pid)

    async def senders() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(SENDERS):
                nursery.start_soon(send_one_large_frame, port)

    async def bounded() -> None:
        with trio.fail_after(120):  # a 1009 that never comes fails instead of hanging
            await senders()

    trio.run(bounded)
    grew = peak_rss(pid) - before
    print(f"{SENDERS} frames of {FRAME >> 20} MiB: the gateway's peak RSS grew {grew >> 20} MiB")
    assert grew < SLACK
    assert not [line for line in quiet.gateway.lines if "Traceback" in line]
