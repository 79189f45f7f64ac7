"""The live dashboard in a real browser against ``tradepit serve``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, WebSocket

from engine import log as logmod
from engine.records import AdminApplied
from tests.browser.conftest import screenshot
from tests.e2e.server import FAST_CONFIG, Server, running_server
from tests.procs import wait_until

TOKEN = "dashboard-organiser-token"
PRIVATE_TYPES = {"signal", "new_order_ack", "execution_report", "order_cancelled",
                 "position_snapshot", "score_update"}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = FAST_CONFIG + f'[admin]\ntoken = "{TOKEN}"\n[retail]\nenabled = false\n'
    with running_server(tmp_path_factory.mktemp("dash"), "--no-house", config=config) as srv:
        srv.wait_continuous()
        yield srv


def open_page(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/dashboard")
    page.wait_for_function(
        "document.body.dataset.ready === '1' && window.__dash.stream.lastSeq !== null"
    )


def page_board(page: Page) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#leaderboard table.role')]
            .map(t => [t.dataset.role, [...t.querySelectorAll('tr.team-row')]
            .map(r => r.dataset.team)]))"""
    )
    return rows


def rest_board(server: Server) -> dict[str, list[str]]:
    roles = httpx.get(f"{server.url}/leaderboard", timeout=30).json()["data"]["roles"]
    # the page draws no table for a role without teams
    return {role: [r["team_id"] for r in rows] for role, rows in roles.items() if rows}


def test_the_leaderboard_rows_are_get_leaderboards(page: Page, server: Server) -> None:
    for name, role in (("lb-mm", "market_maker"), ("lb-hf", "hedge_fund"), ("lb-arb", "arbitrage")):
        server.register(name, role)
    open_page(page, server)
    assert page.locator("#nav").is_hidden()  # no ladder: one page, no navigation
    # the page and GET /leaderboard agree once the page has had the tick that scores them
    wait_until(lambda: page_board(page) == rest_board(server), 30, "the same leaderboard")
    board = page_board(page)
    assert "lb-hf" in page.inner_text("#leaderboard")
    assert sum(len(rows) for rows in board.values()) >= 3
    assert page.locator("#leaderboard .unmet, #leaderboard .met").count() >= 3


def test_an_order_over_rest_shows_on_the_ladder_and_the_tape(page: Page, server: Server) -> None:
    maker = server.register("ladder-maker", "market_maker")
    taker = server.register("ladder-taker", "hedge_fund")
    open_page(page, server)
    page.select_option("#instrument", "SPY")
    price = server.away_from_fair(0.05)
    shown = f"{price:.2f}"
    server.place(maker["api_key"], "sell", price, 4)
    page.locator("#ladder tr.level", has_text=shown).wait_for()
    assert "4" in page.locator("#ladder tr.level", has_text=shown).inner_text()
    server.place(taker["api_key"], "buy", price, 3)
    tape = page.locator("#tape tbody tr", has_text="SPY")
    tape.filter(has_text=shown).first.wait_for()
    assert "buy" in tape.filter(has_text=shown).first.inner_text()
    page.locator("#ladder tr.level", has_text=shown).filter(has_text="1").wait_for()


def test_the_standings_and_the_charts_read_at_a_glance(page: Page, server: Server) -> None:
    maker = server.register("Glance Makers", "market_maker")
    fund = server.register("Glance Fund", "hedge_fund")
    server.register("Glance Arb", "arbitrage")
    # a page opened a few ticks later draws the race from the snapshot's history at once
    health = f"{server.url}/health"
    registered = httpx.get(health, timeout=30).json()["data"]["tick_number"]
    wait_until(
        lambda: httpx.get(health, timeout=30).json()["data"]["tick_number"] >= registered + 4,
        30,
        "four ticks scored",
    )
    open_page(page, server)
    seen = page.evaluate(f"window.__dash.state.series.get('{maker['team_id']}').length")
    assert seen >= 3
    page.select_option("#instrument", "SPY")
    price = server.away_from_fair(0.04)
    server.place(maker["api_key"], "sell", price, 6)
    server.place(maker["api_key"], "sell", round(price + 0.05, 2), 9)
    server.place(fund["api_key"], "buy", price, 2)
    # each row: rank, team, role, score and P&L in dollars, a sparkline, the requirement
    row = page.locator("#leaderboard tr.team-row", has_text="Glance Makers")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[0].isdigit()
    assert cells[1:3] == ["Glance Makers", "Market maker"]
    assert "$" in cells[3]
    assert "$" in cells[4]
    assert cells[6].startswith(("✓ met", "✗ uptime"))
    # the sparkline has a line once the page has seen a few standings
    page.wait_for_function(
        "[...document.querySelectorAll('#leaderboard svg.spark polyline')].length >= 3"
    )
    # the race and the price chart are drawn with their axes (a drawn chart keeps its geometry)
    page.wait_for_function(
        "document.getElementById('race-chart')._chart?.series.length >= 3"
        " && document.getElementById('prices')._chart?.series.length === 2"
    )
    # the depth ladder: the bigger level has the longer bar
    page.locator("#ladder td.depth.ask", has_text="9").wait_for()
    widths = page.eval_on_selector_all(
        "#ladder td.depth.ask", "tds => tds.map(td => td.style.getPropertyValue('--w'))"
    )
    assert "100%" in widths
    # the detail view by keyboard: Tab to the row, Enter; the KPIs have human labels
    row.focus()
    page.keyboard.press("Enter")
    page.locator("#team:not([hidden])").wait_for()
    detail = page.inner_text("#team-kpis")
    assert "Quoting uptime" in detail
    assert "Scoring window" in detail
    assert "instruments_to_cover" not in detail
    page.keyboard.press("Escape")
    page.locator("#team").wait_for(state="hidden")
    # values on hover: the tooltip names the tick and both prices there
    box = page.locator("#prices").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    tip = page.locator("#market .chart-tip")
    tip.wait_for()
    assert "SPX:" in tip.inner_text()
    assert "SPY (right axis):" in tip.inner_text()
    page.mouse.move(0, 0)
    tip.wait_for(state="hidden")
    page.locator("#tape tbody tr", has_text="SPY").first.wait_for()
    screenshot(page, "live")
    # a projector: bigger type; a narrow window: one column, the race under the standings
    page.set_viewport_size({"width": 1920, "height": 1080})
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "16px"
    page.set_viewport_size({"width": 1000, "height": 900})
    standings = page.locator("#standings").bounding_box()
    race = page.locator("#race").bounding_box()
    assert standings is not None
    assert race is not None
    assert race["y"] > standings["y"] + standings["height"] - 1


def test_a_killed_websocket_resumes_without_a_gap(page: Page, server: Server) -> None:
    snapshots: list[int] = []

    def watch(ws: WebSocket) -> None:
        def frame(payload: str | bytes) -> None:
            message = json.loads(payload)
            if message["type"] == "dashboard_snapshot":
                snapshots.append(message["seq"])

        ws.on("framereceived", frame)

    page.on("websocket", watch)
    open_page(page, server)
    before = page.evaluate("window.__dash.stream.lastSeq")
    page.evaluate("window.__dash.stream.ws.close()")
    page.wait_for_function(
        f"window.__dash.stream.resumes >= 1 && window.__dash.stream.lastSeq > {before} + 10"
    )
    stream = page.evaluate(
        "({gaps: __dash.stream.gaps, connects: __dash.stream.connects, url: __dash.stream.ws.url})"
    )
    assert stream["gaps"] == 0
    assert stream["connects"] == 2
    assert "?last_seq=" in stream["url"]
    assert len(snapshots) == 1  # the resume replayed from last_seq: no second snapshot


def test_an_admin_action_from_the_page_is_in_the_log(page: Page, server: Server) -> None:
    open_page(page, server)
    page.fill("#a-token", TOKEN)
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-admin='house/off']")
    page.locator("#a-result", has_text="done: house/off").wait_for()
    log_dir = server.session_dir() / "log"

    def recorded() -> bool:
        with logmod.open_reader(log_dir) as reader:
            return any(
                isinstance(r, AdminApplied) and r.action == "set_house" and r.value == "false"
                for r in reader.read(1, reader.head_seq)
            )

    wait_until(recorded, 30, "the house switch in the log")


def test_the_public_page_never_shows_a_signal_or_a_private_message(
    page: Page, server: Server
) -> None:
    teams = [server.register(f"private-{role}", role) for role in ("hedge_fund", "arbitrage")]
    frames: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(json.loads(p))))
    open_page(page, server)
    order = server.place(teams[0]["api_key"], "buy", server.away_from_fair(-0.1), 1)
    head = page.evaluate("window.__dash.stream.lastSeq")
    page.wait_for_function(f"window.__dash.stream.lastSeq > {head} + 40")
    html = page.content()
    assert {f["type"] for f in frames}.isdisjoint(PRIVATE_TYPES)
    for secret in ("signal_type", "volatility_forecast", "tracking_error", order["order_id"]):
        assert secret not in html
        assert all(secret not in json.dumps(f) for f in frames)
    for team in teams:
        assert team["api_key"] not in html
