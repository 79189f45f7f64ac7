"""The dashboard's routes on a budget (issue 38, item 8): replay seeks bounded in
concurrency, the page's files read once.

64 concurrent ``GET /replay/state`` ran 64 folds in worker threads (trio's default
limit is 40) holding the GIL between them: ``/health`` took 2.1 s. Now at most
``SEEKS`` fold at once, ``SEEKS_WAITING`` more queue, and the rest are answered 503
``SERVICE_UNAVAILABLE`` with ``retry_after`` at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from gateway.replay.paced import ReadOnlyEngine, ReplayControl, Replaying
from gateway.service import Gateway
from gateway.upstream.source import MemoryLog
from gateway.web import dashboard
from gateway.web.rest import create_app
from tests.gateway.builders import Log
from tests.gateway.conftest import gateway_config

SEEKERS = 64


async def following(nursery: trio.Nursery) -> Gateway:
    """A gateway caught up with a started session's log: past its read barrier."""
    log = Log()
    log.start()
    gw = Gateway(gateway_config(), ReadOnlyEngine(), MemoryLog(log.records))
    await nursery.start(gw.follow)
    await gw.caught_up.wait()
    return gw


async def test_64_concurrent_seeks_fold_one_at_a_time_and_the_rest_are_503(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lock = threading.Lock()
    release = threading.Event()
    running = [0, 0]  # folding now, most at once

    def blocking_seek(log_dir: Path, seq: int, team: str | None = None) -> dict[str, Any]:
        with lock:
            running[0] += 1
            running[1] = max(running)
        release.wait(60)  # until every request has been answered or queued
        with lock:
            running[0] -= 1
        return {"seq": seq}

    monkeypatch.setattr(dashboard, "seek", blocking_seek)
    statuses: list[int] = []
    refused = trio.Event()
    expected_refused = SEEKERS - dashboard.SEEKS - dashboard.SEEKS_WAITING

    async def seek(seq: int) -> None:
        answer = await client.get(f"/replay/state?seq={seq}")
        statuses.append(answer.status_code)
        if answer.status_code == 503:
            body = await answer.get_json()
            assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert body["error"]["details"]["retry_after"] > 0
        if statuses.count(503) == expected_refused:
            refused.set()

    async with trio.open_nursery() as nursery:
        gw = await following(nursery)
        client = create_app(gw, Replaying(ReplayControl(1.0), tmp_path)).test_client()
        async with trio.open_nursery() as seekers:
            for seq in range(1, SEEKERS + 1):
                seekers.start_soon(seek, seq)
            # the refusals come at once, without a fold (before: none ever came)
            try:
                with trio.fail_after(5):
                    await refused.wait()
            finally:
                release.set()
        nursery.cancel_scope.cancel()
    assert statuses.count(200) == dashboard.SEEKS + dashboard.SEEKS_WAITING
    assert running[1] <= dashboard.SEEKS


async def test_the_dashboard_page_is_read_from_disk_once() -> None:
    log = MemoryLog([])
    client = create_app(Gateway(gateway_config(), ReadOnlyEngine(), log)).test_client()
    dashboard.static_file.cache_clear()
    for _ in range(20):
        answer = await client.get("/dashboard")
        assert answer.status_code == 200
    info = dashboard.static_file.cache_info()
    assert (info.misses, info.hits) == (1, 19)
