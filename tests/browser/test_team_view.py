"""A team's own view on the live dashboard: its key on the page, its data, no one else's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, WebSocket

from tests.browser.conftest import screenshot
from tests.e2e.server import FAST_CONFIG, Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = FAST_CONFIG + "[retail]\nenabled = false\n"
    with running_server(tmp_path_factory.mktemp("team"), "--no-house", config=config) as srv:
        srv.wait_continuous()
        yield srv


def refuse(server: Server, key: str, share: float) -> str:
    """A sell at fair value moved by ``share`` that the engine refuses: its code."""
    price = server.away_from_fair(share)
    r = httpx.post(
        f"{server.url}/orders",
        headers={"X-API-Key": key},
        json={"instrument_id": "SPY", "side": "sell", "quantity": 1, "price": price},
        timeout=30,
    )
    assert r.status_code != 200, r.text
    code: str = r.json()["error"]["code"]
    return code


def test_a_team_sees_its_orders_fills_and_refusals_and_no_one_elses(
    page: Page, server: Server
) -> None:
    mine = server.register("Own View Makers", "market_maker")
    other = server.register("Other Fund", "hedge_fund")
    price = server.away_from_fair(0.05)
    sold = server.place(mine["api_key"], "sell", price, 5)
    bought = server.place(other["api_key"], "buy", price, 2)  # fills 2 of mine
    resting = server.place(mine["api_key"], "sell", round(price + 0.1, 2), 3)
    theirs = server.place(other["api_key"], "buy", server.away_from_fair(-0.1), 1)
    code = refuse(server, mine["api_key"], 3.0)  # far outside the price band
    their_code = refuse(server, other["api_key"], 0.03)  # a fund's bid rests: one side only
    assert (code, their_code) == ("INVALID_PRICE", "ORDER_TYPE_NOT_ALLOWED")
    theirs_refused = httpx.get(
        f"{server.url}/refusals", headers={"X-API-Key": other["api_key"]}, timeout=30
    ).json()["data"]
    assert theirs_refused[-1]["code"] == their_code

    public: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        if "/ws/public" in ws.url:
            ws.on("framereceived", lambda p: public.append(json.loads(p)))

    page.on("websocket", watch)
    page.goto(f"{server.url}/dashboard")
    page.wait_for_function("document.body.dataset.ready === '1'")
    page.fill("#my-key", mine["api_key"])
    page.press("#my-key", "Enter")

    # its fill, its resting order, its refusal with the code, its score's breakdown
    page.locator("#my-fills tbody tr", has_text=sold["order_id"]).wait_for()
    fill = page.inner_text("#my-fills tbody tr")
    for shown in ("sell", f"{price:.2f}", "maker"):
        assert shown in fill
    page.locator("#my-orders tbody tr", has_text=resting["order_id"]).wait_for()
    page.locator("#my-refusals tbody tr td.code", has_text=code).first.wait_for()
    page.locator("#my-breakdown tr", has_text="Quoting uptime").wait_for()
    assert "Own View Makers" in page.inner_text("#my-name")
    # the fills and orders are drawn on the instrument's chart
    page.wait_for_function(
        "document.getElementById('my-chart')._chart?.dots.some(d => d.kind === 'down')"
    )

    # nothing of the other team: its orders, its fill's order, its refusal, its key
    html = page.content()
    for secret in (bought["order_id"], theirs["order_id"], other["api_key"], their_code):
        assert secret not in page.inner_text("#my-team")
    assert other["api_key"] not in html
    # the key is in this tab's storage only: never in the page's address or the public stream
    assert mine["api_key"] not in page.url
    assert page.evaluate("sessionStorage.getItem('tradepit-team-key')") == mine["api_key"]
    assert page.evaluate("localStorage.length") == 0
    assert public, "the public stream was watched"
    for frame in public:
        text = json.dumps(frame)
        for secret in (mine["api_key"], sold["order_id"], resting["order_id"], code):
            assert secret not in text
    # the fair value's line under them, once the page has had a few of the public stream's prices
    page.wait_for_function(
        "document.getElementById('my-chart')._chart?.series.some(s => s.points.length >= 6)"
    )
    screenshot(page, "team")

    # a reload keeps the key (session storage); "forget" drops it
    page.reload()
    page.locator("#my-fills tbody tr", has_text=sold["order_id"]).wait_for()
    page.click("#my-forget")
    page.wait_for_function("sessionStorage.getItem('tradepit-team-key') === null")
    assert page.is_hidden("#my-body")
