"""``tradepit serve --ladder DIR``: the ladder's JSON and pages from the real gateway
process, against a ladder directory written as the runner writes one (no heat is run:
the heats' files are what the gateway reads)."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import ROOT, Server, running_server
from tests.offline.ladder_dir import CRASH, SECRET, SESSION, make_ladder


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ladder(tmp_path_factory.mktemp("ladder") / "ladder")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, ladder: Path) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("serve"), "--ladder", str(ladder)) as srv:
        yield srv


def get(server: Server, path: str) -> httpx.Response:
    return httpx.get(server.url + path, timeout=30)


def data(server: Server, path: str) -> Any:
    answer = get(server, path)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    assert body["error"] is None
    assert body["request_id"].startswith("req_")
    return body["data"]


def refused(server: Server, path: str) -> tuple[int, str]:
    answer = get(server, path)
    assert answer.json()["success"] is False, answer.text
    return answer.status_code, answer.json()["error"]["code"]


def raw_get(server: Server, path: str) -> tuple[int, bytes]:
    """A path sent exactly as written: httpx would fold its ``..`` segments away."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def test_the_table_is_the_ladders_own(server: Server, ladder: Path) -> None:
    assert data(server, "/health")["ladder"] is True
    shown = data(server, "/ladder")
    table = subprocess.run(
        [sys.executable, "-m", "engine.cli", "ladder", str(ladder), "--table", "--json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert shown["table"] == json.loads(table.stdout)
    assert [r["name"] for r in shown["table"]][:2] == ["beta", "delta"]  # won the last heat
    alpha = next(r for r in shown["table"] if r["name"] == "alpha")
    assert (alpha["games"], alpha["failures"]) == (2, 1)
    assert abs(alpha["rating"] - (alpha["mu"] - 3 * alpha["sigma"])) < 0.01  # conservative
    heats = shown["heats"]
    assert [h["number"] for h in heats] == [3, 2, 1]  # newest first
    assert heats[1]["session_dir"] == f"heats/heat-0002/{SESSION}"
    assert heats[1]["url"] == "/ladder/heats/2"
    assert heats[0]["void"] == "no server"
    assert heats[0]["session_dir"] is None


def test_a_heat_and_a_bot(server: Server, ladder: Path) -> None:
    heat = data(server, "/ladder/heats/2")
    stored = json.loads((ladder / "heats" / "heat-0002" / "heat.json").read_text())
    assert heat == {**stored, "session_dir": f"heats/heat-0002/{SESSION}"}
    alpha = data(server, "/ladder/teams/alpha")
    assert (alpha["role"], alpha["version"]) == ("market_maker", "v-alpha")
    assert [h["heat"] for h in alpha["heats"]] == [2, 1]
    assert [(e["heat"], e["failed"]) for e in alpha["errors"]] == [(2, CRASH)]
    err = get(server, alpha["errors"][0]["err"])
    assert err.status_code == 200
    assert err.text == "Traceback: alpha failed\n"
    assert err.headers["content-type"].startswith("text/plain")
    assert err.headers["x-content-type-options"] == "nosniff"  # never sniffed into HTML
    assert get(server, alpha["heats"][1]["out"]).text == "alpha in heat 1\n"


def test_bad_input_is_refused_with_a_code(server: Server) -> None:
    assert refused(server, "/ladder/heats/two") == (422, "INVALID_REQUEST")
    assert refused(server, "/ladder/heats/" + "9" * 30) == (422, "INVALID_REQUEST")
    assert refused(server, "/ladder/heats/99") == (404, "HEAT_NOT_FOUND")
    assert refused(server, "/ladder/teams/nobody") == (404, "BOT_NOT_FOUND")
    assert refused(server, "/dashboard/ladder/nobody") == (404, "BOT_NOT_FOUND")
    assert refused(server, "/ladder/heats/1/bots/zeta.out") == (404, "BOT_NOT_FOUND")
    assert refused(server, "/ladder/heats/1/bots/alpha.log") == (404, "NOT_FOUND")
    assert refused(server, "/ladder/teams/%2E%2E") == (422, "INVALID_REQUEST")
    assert refused(server, "/ladder/heats/1/bots/.hidden.out") == (422, "INVALID_REQUEST")


def test_nothing_outside_the_ladder_is_served(server: Server, ladder: Path) -> None:
    # heat 2's bots/sneaky.out is a symlink to a file beside the ladder
    assert (ladder / "heats" / "heat-0002" / "bots" / "sneaky.out").read_text() == SECRET
    assert refused(server, "/ladder/heats/2/bots/sneaky.out") == (404, "BOT_NOT_FOUND")
    for path in (
        "/ladder/heats/1/bots/..%2F..%2F..%2Froster.json",
        "/ladder/heats/1/bots/%2E%2E%2F%2E%2E%2Fheat.json",
        "/ladder/teams/..%2F..%2Fsecret.txt",
        "/ladder/heats/1/bots/../../../../secret.txt",
        "/ladder/heats/1/bots/..%2f..%2f..%2f..%2fsecret.txt",
        "/dashboard/ladder/../../secret.txt",
    ):
        status, body = raw_get(server, path)
        assert 400 <= status < 500, (path, status)
        assert SECRET.encode() not in body, path
        assert b'"code"' in body, path


def test_the_pages_hold_the_table_and_the_heats(server: Server, ladder: Path) -> None:
    page = get(server, "/dashboard/ladder")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<link rel="stylesheet" href="/dashboard/dashboard.css">' in html  # the look
    assert '<a href="/dashboard">live</a>' in html
    table = html.split('<table id="ladder-table">', 1)[1].split("</table>", 1)[0]
    for row in data(server, "/ladder")["table"]:
        assert f'<a href="/dashboard/ladder/{row["name"]}">{row["name"]}</a>' in table
        assert f'<td class="rating">{row["rating"]:.2f}</td>' in table
    assert table.index(">beta<") < table.index(">alpha<")  # in the table's order
    assert '<a href="/ladder/heats/2">2</a>' in html
    assert f"<code>tradepit replay serve {ladder}/heats/heat-0002/{SESSION}</code>" in html
    assert "void: no server" in html
    bot = get(server, "/dashboard/ladder/alpha").text
    errors = bot.split('<table id="ladder-bot-errors">', 1)[1].split("</table>", 1)[0]
    assert CRASH in errors
    assert '<a href="/ladder/heats/2/bots/alpha.err">.err</a>' in errors


def test_serve_refuses_a_ladder_that_is_not_a_directory(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "serve", "--data-dir", str(tmp_path / "data"),
         "--ladder", str(tmp_path / "no-such-ladder")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "no-such-ladder is not a directory" in done.stderr
