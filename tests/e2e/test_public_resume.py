"""``/ws/public?last_seq=N`` is served from a bounded window (issue 38, item 3).

Anonymous ``?last_seq=1`` replayed the whole public history from memory (50,000
messages, a leaderboard of every team each burst): 16 such sockets took a gateway from
0.87 to 2.15 GB. The public stream now keeps at most ``[gateway] public_history_bytes``
of messages; an older resume is closed 4010 ``SNAPSHOT_REQUIRED`` before any message,
and the page reconnects without ``last_seq`` for a snapshot (what ``stream.js`` does).
Real engine and gateway processes, a 16 KiB window so a few ticks move past seq 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from engine import config as configmod
from gateway.errors import WS_SNAPSHOT_REQUIRED
from tests.e2e.server import FAST_CONFIG, Server, running_server
from tests.e2e.test_public_stream import public_url, receive

WINDOW = 16 * 1024
CONFIG = FAST_CONFIG + f"[retail]\nenabled = false\n[gateway]\npublic_history_bytes = {WINDOW}\n"


def closed_code(ws: ClientConnection) -> int | None:
    """The close code once the server closes (``None`` if it sent a message instead)."""
    try:
        ws.recv(timeout=20)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None
    return None


def test_an_old_public_resume_is_4010_and_a_recent_one_resumes(tmp_path: Path) -> None:
    server: Server
    with running_server(tmp_path, "--no-house", config=CONFIG) as server:
        server.wait_continuous()
        with connect(public_url(server)) as live:
            snapshot = receive(live)
            assert snapshot["type"] == "dashboard_snapshot"
            # the live page reads until the window has moved well past seq 1: the bytes
            # of what it was sent are at least the window's
            sent, last = 0, snapshot["seq"]
            while sent < 2 * WINDOW:
                raw = live.recv(timeout=20)
                sent += len(raw)
                last = json.loads(raw)["seq"]
            # sixteen anonymous pages asking for everything: refused before any message
            for _ in range(16):
                with connect(public_url(server, last_seq=1)) as old:
                    assert closed_code(old) == WS_SNAPSHOT_REQUIRED
            # a page that dropped a moment ago resumes where it was, no gap
            with connect(public_url(server, last_seq=last - 1)) as recent:
                assert receive(recent)["seq"] == last
                assert receive(recent)["seq"] == last + 1


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(configmod.ConfigError, match="public_history_bytes"):
        configmod.from_dict({"gateway": {"public_history_bytes": -1}})
