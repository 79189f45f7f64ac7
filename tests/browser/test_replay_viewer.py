"""The replay viewer in a real browser against ``tradepit replay serve``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route

from engine.ports import free_port
from tests.browser.conftest import screenshot
from tests.procs import ROOT, Proc, tradepit_output

RECORDING = ROOT / "replays" / "news-signals"
EVERY = 500


@pytest.fixture(scope="module")
def replay_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("viewer")
    port = free_port()
    proc = Proc.tradepit(
        "replay",
        "serve",
        str(RECORDING),
        "--port",
        str(port),
        "--paused",
        "--snapshot-every",
        str(EVERY),  # so that the seeks below start from the pass's snapshots
        log=tmp / "serve.log",
    )
    try:
        proc.wait_for("serving on")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def inspect(seq: int) -> str:
    return tradepit_output("replay", "inspect", str(RECORDING), "--at-seq", str(seq))


def shown(page: Page) -> str:
    text: str = page.eval_on_selector("#inspect", "e => e.textContent")
    return text


def at(page: Page, seq: int) -> None:
    page.wait_for_function(f"document.body.dataset.seq === '{seq}'")


def head(path: Path) -> int:
    from engine import log as logmod

    with logmod.open_reader(path / "log") as reader:
        return reader.head_seq


def test_the_slider_at_seq_n_shows_what_replay_inspect_prints(page: Page, replay_url: str) -> None:
    page.goto(f"{replay_url}/dashboard")
    page.wait_for_function("document.body.dataset.ready === '1'")
    at(page, 1)
    target = head(RECORDING) * 2 // 3
    page.eval_on_selector(
        "#r-seq", f"(e) => {{ e.value = {target}; e.dispatchEvent(new Event('input')); }}"
    )
    at(page, target)
    assert shown(page) == inspect(target)
    assert page.input_value("#r-seq") == str(target)
    page.keyboard.press("ArrowRight")
    at(page, target + 1)
    assert shown(page) == inspect(target + 1)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    at(page, target - 1)
    assert shown(page) == inspect(target - 1)
    screenshot(page, "replay")


def test_the_tick_slider_and_the_step_buttons(page: Page, replay_url: str) -> None:
    page.goto(f"{replay_url}/dashboard?seq=10")
    page.wait_for_function("document.body.dataset.ready === '1'")
    at(page, 10)
    page.click("#r-step")
    at(page, 11)
    ticks = page.evaluate("window.__dash.state.replay.ticks")
    tick, seq = ticks[len(ticks) // 2]
    page.eval_on_selector(
        "#r-tick", f"(e) => {{ e.value = {len(ticks) // 2}; e.dispatchEvent(new Event('input')); }}"
    )
    at(page, seq)
    assert page.inner_text("#s-tick") == str(tick)
    assert shown(page) == inspect(seq)


def test_the_bar_shows_the_indexing_pass(page: Page, replay_url: str) -> None:
    # the real pass over this short recording ends before the page loads: "indexing n%"
    # is shown from an answer held at 42.5% for the first poll, then the real one
    answers: list[str] = []

    def held(route: Route) -> None:
        if not answers:
            answers.append("held")
            body = {"state": "indexing", "every": EVERY, "indexed": 770, "head": 1812}
            route.fulfill(json={"success": True, "data": {**body, "percent": 42.5}})
        else:
            route.continue_()

    page.route("**/replay/index", held)
    page.goto(f"{replay_url}/dashboard")
    page.wait_for_function("document.getElementById('r-index').textContent === 'indexing 42%'")
    page.wait_for_function("document.getElementById('r-index').dataset.state === 'done'")
    assert page.inner_text("#r-index") == f"indexed ({head(RECORDING) // EVERY} snapshots)"


def events(team: str, recording: Path = RECORDING) -> list[dict[str, Any]]:
    from gateway.replay.timeline import team_events

    found: list[dict[str, Any]] = team_events(recording, team)["events"]
    return found


def test_the_debugger_steps_to_a_teams_fill(page: Page, replay_url: str) -> None:
    fills = [e["seq"] for e in events("TEAM_0001") if e["kind"] == "fill"]
    page.goto(f"{replay_url}/dashboard#seq=10&team=TEAM_0001")
    page.wait_for_function("document.body.dataset.ready === '1'")
    at(page, 10)
    assert page.input_value("#d-team") == "TEAM_0001"
    page.click("#d-next-fill")
    at(page, fills[0])
    # the same state as replay inspect, the fill marked in the list and on the chart
    assert shown(page) == inspect(fills[0])
    current = page.locator("#d-events tr.current")
    assert current.get_attribute("data-kind") == "fill"
    assert "SPY_440_CALL" in current.inner_text()
    page.wait_for_function(
        "document.getElementById('d-chart')._chart?.dots.some(d => d.kind !== 'circle')"
    )
    assert "maker-bot at seq" in page.inner_text("#d-summary")
    # the tape as it stood: the fill's trade is its newest row
    assert "SPY_440_CALL" in page.inner_text("#tape tbody tr")
    assert page.evaluate("location.hash") == f"#seq={fills[0]}&team=TEAM_0001"
    # the keyboard: f for the next fill, [ for the previous event, ] for the next one
    page.keyboard.press("f")
    at(page, fills[1])
    before = max(e["seq"] for e in events("TEAM_0001") if e["seq"] < fills[1])
    page.keyboard.press("[")
    at(page, before)
    page.keyboard.press("]")
    at(page, fills[1])
    page.wait_for_function("document.getElementById('d-pnl')._chart?.series.length === 2")
    for later in fills[2:5]:  # a few more fills, for a screenshot with a story in it
        page.keyboard.press("f")
        at(page, later)
    screenshot(page, "debugger")


def test_a_link_opens_the_viewer_at_a_seq_for_a_team(page: Page, replay_url: str) -> None:
    seq = [e["seq"] for e in events("TEAM_0002") if e["kind"] == "fill"][1]
    page.goto(f"{replay_url}/dashboard#seq={seq}&team=TEAM_0002")
    page.wait_for_function("document.body.dataset.ready === '1'")
    at(page, seq)
    assert page.input_value("#d-team") == "TEAM_0002"
    assert "fund-bot at seq" in page.inner_text("#d-summary")
    assert page.locator("#d-events tr.current").get_attribute("data-kind") == "fill"
    # a tick step from there lands on the next tick's first seq
    ticks = page.evaluate("window.__dash.state.replay.ticks")
    nxt = next(s for _, s in ticks if s > seq)
    page.keyboard.press("Shift+ArrowRight")
    at(page, nxt)
    assert page.evaluate("location.hash") == f"#seq={nxt}&team=TEAM_0002"


def test_the_debugger_jumps_to_a_refusal(page: Page, tmp_path: Path) -> None:
    recording = ROOT / "replays" / "quiet-demo"  # its bots are refused after the close
    refusal = next(e for e in events("TEAM_0001", recording) if e["kind"] == "refusal")
    port = free_port()
    proc = Proc.tradepit(
        "replay", "serve", str(recording), "--port", str(port), "--paused",
        log=tmp_path / "serve.log",
    )  # fmt: skip
    try:
        proc.wait_for("serving on")
        page.goto(f"http://127.0.0.1:{port}/dashboard#team=TEAM_0001")
        page.wait_for_function("document.body.dataset.ready === '1'")
        at(page, 1)
        page.click("#d-next-refusal")
        at(page, refusal["seq"])
        current = page.locator("#d-events tr.current")
        assert current.get_attribute("data-kind") == "refusal"
        assert refusal["code"] in current.inner_text()
    finally:
        proc.stop()
