"""The dashboard's "processes" line: what ``tradepit serve`` says of its children,
before and after the engine is killed and restarted (real processes, a real browser)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
from playwright.sync_api import Page

from tests.e2e.server import running_server


def test_the_dashboard_says_when_serve_restarted_a_child(page: Page, tmp_path: Path) -> None:
    with running_server(tmp_path, "--no-house", "--no-retail") as server:
        page.goto(f"{server.url}/dashboard")
        procs = page.locator("#s-procs")
        page.wait_for_function("document.getElementById('s-procs').textContent === 'all up'")
        supervisor = httpx.get(f"{server.url}/health", timeout=10).json()["data"]["supervisor"]
        os.kill(supervisor["children"]["engine"]["pid"], signal.SIGKILL)
        # the line polls /health every second: it shows the restart once serve made it
        page.wait_for_function(
            "document.getElementById('s-procs').textContent"
            " === 'all up · 1 restart, last engine: killed by SIGKILL'"
        )
        assert procs.get_attribute("class") == ""
