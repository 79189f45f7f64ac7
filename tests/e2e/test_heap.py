"""A real gateway leaves its start-up heap out of garbage collections (``engine/heap.py``).

A full collection of the unfrozen heap took 35-50 ms at half load, and every order in
flight waited for it; frozen, 3-4 ms. ``/metrics`` shows what was frozen and the longest
pause since, for an organiser asking whether a slow ack was one.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.server import running_server


def metrics(url: str) -> dict[str, str]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))


def test_the_gateway_freezes_its_start_up_heap_and_reports_its_pauses(tmp_path: Path) -> None:
    with running_server(tmp_path, "--no-house", "--no-retail") as server:
        server.wait_continuous()
        for n in range(20):  # requests make garbage, and so collections
            server.register(f"heap-bot-{n}", "hedge_fund")
        seen = metrics(server.url)
    # hypercorn, quart, trio and the projection: tens of thousands of objects
    assert int(seen["tradepit_gc_frozen_objects"]) > 10_000
    young = int(seen['tradepit_gc_collections_total{generation="0"}'])
    assert young > 0
    assert int(seen['tradepit_gc_collections_total{generation="2"}']) >= 1  # the freeze's own
    # timed from the freeze on: the registrations' young collections were
    assert float(seen["tradepit_gc_longest_pause_seconds"]) > 0
