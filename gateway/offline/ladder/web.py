"""``tradepit ladder DIR --serve PORT``: the ladder's files, read-only, as JSON and a page.

A separate process from the runner (it reads what the runner writes, by atomic rename),
on the standard library's threaded HTTP server: a ladder page is read by dozens, not
thousands. ``GET``:

- ``/`` (and ``/dashboard/ladder``) - a page: the table, the last heats, links to each
  bot's page (``/dashboard/ladder/NAME``) and heat files; the same pages a gateway
  started with ``--ladder DIR`` shows (``gateway.web.ladder_page``), in its stylesheet;
- ``/api/ladder`` - the table (``--table --json``) and the last heats;
- ``/api/ladder/heats/N`` - one heat's ``heat.json``;
- ``/api/ladder/teams/NAME`` - a team's versions, heats, places and failures;
- ``/api/ladder/heats/N/bots/NAME.out`` (``.err``) - a bot's output in that heat.

The views are ``view.Ladder``'s, as on the gateway. The session directory of each heat
is named in its ``heat.json``: ``tradepit replay serve`` and the viewer open it,
``tradepit backtest`` forks it. Bot output is served to anyone who can reach the port:
run it where only the teams can (docs/ladder.md).
"""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from gateway.offline.ladder.view import Ladder
from gateway.web import ladder_page
from gateway.web.dashboard import static_file

API = "/api/ladder"
NAME = r"[^/]+"  # one segment; view.Ladder refuses what is not a bot's name


def answer(root: Path, path: str, ladder: Ladder | None = None) -> tuple[int, str, bytes]:
    """(status, content type, body) for a GET of ``path``."""
    lad = ladder or Ladder(root, api=API)
    path = unquote(path.split("?", 1)[0]).rstrip("/") or "/"
    html = "text/html; charset=utf-8"
    data: Any = None
    if path in ("/", ladder_page.PAGES):
        return 200, html, ladder_page.overview(lad.overview(), lad.label, live=False).encode()
    if path == "/dashboard/dashboard.css":
        return 200, "text/css; charset=utf-8", static_file("dashboard.css")
    if m := re.fullmatch(rf"{ladder_page.PAGES}/({NAME})", path):
        if lad.valid_name(m[1]) and (team := lad.team(m[1])) is not None:
            return 200, html, ladder_page.bot(team, lad.label, live=False).encode()
    elif path == API:
        data = lad.overview()
    elif m := re.fullmatch(rf"{API}/heats/([0-9]{{1,9}})", path):
        data = lad.heat(int(m[1]))
    elif m := re.fullmatch(rf"{API}/teams/({NAME})", path):
        data = lad.team(m[1]) if lad.valid_name(m[1]) else None
    elif m := re.fullmatch(rf"{API}/heats/([0-9]{{1,9}})/bots/({NAME})\.(out|err)", path):
        body = lad.output(int(m[1]), m[2], m[3]) if lad.valid_name(m[2]) else None
        if body is not None:
            return 200, "text/plain; charset=utf-8", body
    if data is None:
        return 404, "application/json", b'{"error": "not found"}'
    return 200, "application/json", json.dumps(data, indent=1).encode()


def serve(root: Path, port: int, host: str = "127.0.0.1") -> None:
    ladder = Ladder(root, api=API)  # one for the server's life: it keeps the fold

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = answer(root, self.path, ladder)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("X-Content-Type-Options", "nosniff")  # a bot prints what it likes
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a page read is not news

    server = ThreadingHTTPServer((host, port), Handler)
    print(f"ladder of {root} on http://{host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
