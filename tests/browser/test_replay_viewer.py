"""The replay viewer in a real browser against ``tradepit replay serve``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
