"""The practice ladder on the dashboard (``tradepit serve --ladder DIR``) in a real
browser: reached from the live page's header, its table is ``GET /ladder``'s, and a
bot's page shows its heats and errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import screenshot
from tests.e2e.server import Server, running_server
from tests.offline.ladder_dir import CRASH, make_ladder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("ladder-page")
    ladder = make_ladder(tmp / "ladder")
    with running_server(tmp, "--ladder", str(ladder)) as srv:
        yield srv


def test_the_ladder_page_from_the_header_to_a_bots_errors(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/dashboard")
    page.wait_for_function("document.body.dataset.ready === '1'")
    page.locator("#nav a", has_text="ladder").click()  # the header's link: a ladder is shown
    page.wait_for_url("**/dashboard/ladder")

    table = httpx.get(f"{server.url}/ladder", timeout=30).json()["data"]["table"]
    rows = page.locator("#ladder-table tbody tr")
    assert rows.count() == len(table)
    for i, row in enumerate(table):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[:5] == [str(row["place"]), row["name"], row["role"], f"{row['rating']:.2f}",
                             str(row["games"])]  # fmt: skip
    # the dashboard's look: its stylesheet's colours on this page's header and panels
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") == (
        "rgb(242, 193, 78)"
    )
    heats = page.locator("#ladder-heat-list tbody tr")
    assert heats.count() == 3
    assert "tradepit replay serve" in heats.nth(1).inner_text()
    failed = heats.nth(1).locator(".unmet")
    assert failed.get_attribute("title") == CRASH
    screenshot(page, "ladder")

    page.locator("#ladder-table a", has_text="alpha").click()
    page.wait_for_url("**/dashboard/ladder/alpha")
    assert page.locator("#ladder-bot-heats tbody tr").count() == 2
    errors = page.locator("#ladder-bot-errors tbody tr")
    assert errors.count() == 1
    assert CRASH in errors.inner_text()
    screenshot(page, "ladder-bot")
    page.locator("#ladder-bot-errors a", has_text=".err").click()
    page.wait_for_url("**/ladder/heats/2/bots/alpha.err")
    assert page.inner_text("body").strip() == "Traceback: alpha failed"
