"""One team cannot make the log grow by more than 50 KB/s (issue 13, attack 1).

A real engine (no clock: only the flood grows the log) and a real gateway. One hedge
fund (``orders_per_second = 5``) floods four ways, back to back: cancels of ids that do
not have an order id's shape (60,000 characters each), cancels of well-formed ids that
name nothing, one ``client_order_id`` resent again and again, and orders beyond its rate.
Whatever it sends, at most ``orders_per_second`` of its writes a second may be waste that
reaches the log (the gateway's budget answers the rest 429 itself) and at most as many
place something (the core's rate limit). So the log's growth is bounded by a figure that
does not depend on the machine's speed: (bytes the log grew per write that reached it) x
2 x the rate. The flood's own bytes per second on this machine are printed, and /health
is timed meanwhile, for RELIABILITY.md; neither is asserted (wall-clock).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from engine.config import Config
from engine.records import CancelOrder, Command, SubmitOrder
from tests.chaos.quiet import Quiet, quiet_cluster

LIMIT_BYTES_PER_SECOND = 50_000
PER_KIND = 150  # requests of each kind of flood


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quiet]:
    with quiet_cluster(tmp_path_factory.mktemp("budget")) as q:
        yield q


def floods(fair: float) -> dict[str, list[tuple[str, str, dict[str, object] | None]]]:
    price = max(round(fair * 0.9, 2), 0.01)  # rests, inside the price band
    order = {"instrument_id": "SPY", "side": "buy", "quantity": 1, "price": price}
    return {
        "ids that are not order ids": [("DELETE", "/orders/" + "Z" * 60_000, None)] * PER_KIND,
        "cancels of nothing": [
            ("DELETE", f"/orders/ORD_{90_000_000 + n:08d}", None) for n in range(PER_KIND)
        ],
        "one client_order_id resent": [
            ("POST", "/orders", {**order, "client_order_id": "resent"})
        ] * PER_KIND,
        "orders beyond the rate": [
            ("POST", "/orders", {**order, "client_order_id": f"many-{n}"})
            for n in range(PER_KIND)
        ],
    }  # fmt: skip


def health_probe(url: str, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(base_url=url, timeout=30) as c:
        while not stop.is_set():
            started = time.perf_counter()
            assert c.get("/health").status_code == 200
            latencies.append(time.perf_counter() - started)


def test_a_flood_from_one_team_grows_the_log_by_at_most_50_kb_a_second(quiet: Quiet) -> None:
    team = quiet.team("flooder", "hedge_fund")
    rate = Config().roles["hedge_fund"].orders_per_second
    report: list[str] = []
    latencies: list[float] = []
    stop = threading.Event()
    probe = threading.Thread(target=health_probe, args=(quiet.url, stop, latencies), daemon=True)
    probe.start()
    try:
        with quiet.client(team["api_key"]) as c:
            for kind, requests in floods(quiet.fair("SPY")).items():
                head, before = quiet.head(), quiet.log_bytes()
                statuses: dict[int, int] = {}
                started = time.perf_counter()
                for method, path, body in requests:
                    r = c.request(method, path, json=body)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    assert r.status_code < 500, r.text
                elapsed = time.perf_counter() - started
                grown = quiet.log_bytes() - before
                reached = [
                    r
                    for r in quiet.records(head)
                    if isinstance(r, Command) and getattr(r, "team_id", None) == team["team_id"]
                ]
                # every write that reached the log is the team's: the engine has no clock
                bound = (grown / len(reached) if reached else 0) * 2 * rate
                report.append(
                    f"{kind}: {len(requests)} requests {statuses}, {len(reached)} reached the "
                    f"log, +{grown} B ({grown / max(len(reached), 1):.0f} B each) in "
                    f"{elapsed:.2f} s = {grown / elapsed / 1000:.1f} KB/s here; "
                    f"bound {bound / 1000:.1f} KB/s"
                )
                assert bound <= LIMIT_BYTES_PER_SECOND, report[-1]
                assert statuses.get(429, 0) > 0 or not reached, report[-1]  # the pre-filter
                if kind == "ids that are not order ids":
                    assert grown == 0, report[-1]  # refused at the gateway, never logged
                if kind == "orders beyond the rate":
                    placed = [r for r in reached if isinstance(r, SubmitOrder)]
                    assert len(placed) < len(requests)
                if kind == "cancels of nothing":
                    assert all(isinstance(r, CancelOrder) for r in reached)
    finally:
        stop.set()
        probe.join(60)
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 2 else latencies[0]
    report.append(f"/health: {len(latencies)} answers, p99 {p99 * 1000:.1f} ms during the flood")
    print("\n".join(report))
    assert latencies  # the gateway kept answering /health throughout


def test_a_flood_spread_over_two_gateways_gets_one_budget(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Each gateway's bucket would let ``orders_per_second`` of waste through; the engine's
    one bucket per team keeps the sum there. Bounded by the log's own clock: at most the
    burst plus the rate times the span of the engine's timestamps reach the log."""
    rules = Config().roles["hedge_fund"]
    rate, burst = rules.orders_per_second, Config().gateway.budget_burst_seconds
    with quiet_cluster(tmp_path_factory.mktemp("two"), gateways=2) as q:
        team = q.team("spreader", "hedge_fund")
        head = q.head()
        statuses: dict[int, int] = {}
        clients = [
            httpx.Client(base_url=url, headers={"X-API-Key": team["api_key"]}, timeout=30)
            for url in q.urls
        ]
        try:
            for n in range(PER_KIND):
                r = clients[n % 2].delete(f"/orders/ORD_{90_000_000 + n:08d}")
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                assert r.status_code in (404, 429), r.text
        finally:
            for c in clients:
                c.close()
        reached = [r for r in q.records(head) if isinstance(r, CancelOrder)]
    assert reached
    span = (reached[-1].ts - reached[0].ts) / 1e9
    allowed = rate * burst + rate * span + 1
    print(f"two gateways: {PER_KIND} cancels of nothing {statuses}, {len(reached)} reached "
          f"the log over {span:.2f} s of engine time; one budget allows {allowed:.1f}")  # fmt: skip
    assert len(reached) <= allowed
    assert statuses[429] >= PER_KIND - allowed
