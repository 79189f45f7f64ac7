"""History older than the gateway keeps is served from the log, by a real ``tradepit
serve`` keeping 20 messages a team: ``GET /events`` pages from seq 1 and a WebSocket
resumed from ``last_seq=0`` both get every message once, in order, with the very bytes
the gateway served while those messages were still in memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.e2e.server import FAST_CONFIG, running_server
from tests.procs import wait_until

HISTORY = 20
CONFIG = (
    FAST_CONFIG
    + f"""
[gateway]
events_history = {HISTORY}
events_page_max = 25
"""
)


def _page(http: httpx.Client, after_seq: int) -> dict[str, Any]:
    r = http.get(f"/events?after_seq={after_seq}&limit=25")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def _all_after(http: httpx.Client, after_seq: int, head: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while after_seq < head:
        messages = _page(http, after_seq)["messages"]
        assert messages, f"an empty page after seq {after_seq}, before the head {head}"
        out += messages
        after_seq = messages[-1]["seq"]
    return out


def test_history_older_than_memory_comes_from_the_log(tmp_path: Path) -> None:
    with running_server(tmp_path, config=CONFIG) as server:
        team = server.register("long-memory", "retail")
        key = {"X-API-Key": team["api_key"]}
        with httpx.Client(base_url=server.url, headers=key, timeout=30) as http:
            young = _page(http, 0)["messages"]  # early: from memory, or the log if busy
            assert young
            assert young[0]["seq"] == 1

            def head() -> int:
                last: int = _page(http, 10**9)["last_seq"]
                return last

            wait_until(lambda: head() > 6 * HISTORY, 90, "the team's stream to outgrow memory")
            at = head()
            old = _all_after(http, 0, at)
            assert [m["seq"] for m in old] == list(range(1, len(old) + 1))
            assert len(old) >= at
            assert old[: len(young)] == young  # the log made the same messages again

            url = f"ws://127.0.0.1:{server.port}/ws?api_key={team['api_key']}&last_seq=0"
            with connect(url, open_timeout=30) as ws:
                streamed = [json.loads(ws.recv(timeout=30)) for _ in range(at + 5)]
        assert [m["seq"] for m in streamed] == list(range(1, at + 6))  # and on, live
        assert streamed[:at] == old[:at]
