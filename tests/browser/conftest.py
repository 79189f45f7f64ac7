"""Headless Debian chromium driven by Playwright, against the real processes.

The scripts install chromium (scripts/_venv.sh); a test never assumes it: without
/usr/bin/chromium the fixture fails, it does not skip. Playwright's own browser
download is never used (``executable_path``), and each test gets a fresh profile.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Screenshots the tests take (git-ignored); docs/ holds one of each, copied by hand.
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: ./scripts/test installs Debian's chromium")
    with sync_playwright() as pw:
        context: BrowserContext = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        errors: list[str] = []
        try:
            tab = context.new_page()
            tab.set_default_timeout(30_000)
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            yield tab
        finally:
            context.close()
        # an exception in the page's scripts fails the test that caused it
        assert not errors, errors


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
