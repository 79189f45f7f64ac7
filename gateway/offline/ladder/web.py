"""``tradepit ladder DIR --serve PORT``: the ladder's files, read-only, as JSON and a page.

A separate process from the runner (it reads what the runner writes, by atomic rename),
on the standard library's threaded HTTP server: a ladder page is read by dozens, not
thousands. ``GET``:

- ``/`` - a page: the table, the last heats, links to each team's page and heat files;
- ``/api/ladder`` - the table (``--table --json``) and the last heats;
- ``/api/ladder/heats/N`` - one heat's ``heat.json``;
- ``/api/ladder/teams/NAME`` - a team's versions, heats, places and failures;
- ``/api/ladder/heats/N/bots/NAME.out`` (``.err``) - a bot's output in that heat.

The session directory of each heat is named in its ``heat.json``: ``tradepit replay
serve`` and the viewer open it, ``tradepit backtest`` forks it. Bot output is served to
anyone who can reach the port: run it where only the teams can (docs/ladder.md).
"""

from __future__ import annotations

import html
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gateway.offline.ladder import ratings, roster

LAST_HEATS = 20
NAME = r"[A-Za-z0-9_.@-]+"


def table(root: Path) -> list[dict[str, Any]]:
    return ratings.rows(ratings.fold(ratings.heats_of(root)), roster.current(root))


def overview(root: Path) -> dict[str, Any]:
    heats = ratings.heats_of(root)
    return {"table": table(root), "heats": [_brief(h) for h in heats[-LAST_HEATS:][::-1]]}


def _brief(h: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": h["number"],
        "seed": h["seed"],
        "session": f"heats/heat-{h['number']:04d}/{h['session']}",
        "teams": [
            {k: t[k] for k in ("name", "role", "rank", "score", "failed")} for t in h["teams"]
        ],
    }


def team(root: Path, name: str) -> dict[str, Any] | None:
    heats = [h for h in ratings.heats_of(root) if any(t["name"] == name for t in h["teams"])]
    entry = roster.load(root).get(name)
    if entry is None and not heats:
        return None
    mine = []
    for h in heats:
        t = next(t for t in h["teams"] if t["name"] == name)
        mine.append({"heat": h["number"], "version": t["version"], "rank": t["rank"],
                     "score": t["score"], "failed": t["failed"],
                     "out": f"/api/ladder/heats/{h['number']}/bots/{name}.out",
                     "err": f"/api/ladder/heats/{h['number']}/bots/{name}.err"})  # fmt: skip
    rows = [r for r in table(root) if r["name"] == name]
    return {"name": name, "role": entry.role if entry else None,
            "version": entry.version if entry else None, "rating": rows[0] if rows else None,
            "heats": mine[::-1], "errors": [m for m in mine[::-1] if m["failed"]]}  # fmt: skip


def page(root: Path) -> str:
    view = overview(root)
    rows = "".join(
        f"<tr><td>{r['place']}</td><td><a href='/api/ladder/teams/{html.escape(r['name'])}'>"
        f"{html.escape(r['name'])}</a></td><td>{r['role']}</td><td>{r['rating']:.2f}</td>"
        f"<td>{r['games']}</td><td>{r['failures']}</td></tr>"
        for r in view["table"]
    )
    heats = "".join(
        f"<li><a href='/api/ladder/heats/{h['number']}'>heat {h['number']}</a> "
        f"(<code>{html.escape(h['session'])}</code>): "
        + ", ".join(
            f"{html.escape(t['name'])} #{t['rank']}" + (" (failed)" if t["failed"] else "")
            for t in h["teams"]
        )
        + "</li>"
        for h in view["heats"]
    )
    return (
        "<!doctype html><meta charset=utf-8><title>tradepit ladder</title>"
        "<h1>Ladder</h1><table border=1 cellpadding=4><tr><th>#</th><th>bot</th><th>role</th>"
        f"<th>mu - 3 sigma</th><th>games</th><th>failures</th></tr>{rows}</table>"
        f"<h2>Last heats</h2><ul>{heats}</ul>"
    )


def answer(root: Path, path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) for a GET of ``path``."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    data: Any = None
    if path == "/":
        return 200, "text/html; charset=utf-8", page(root).encode()
    if path == "/api/ladder":
        data = overview(root)
    elif m := re.fullmatch(r"/api/ladder/heats/(\d+)", path):
        file = root / "heats" / f"heat-{int(m[1]):04d}" / "heat.json"
        data = json.loads(file.read_text()) if file.exists() else None
    elif m := re.fullmatch(rf"/api/ladder/teams/({NAME})", path):
        data = team(root, m[1])
    elif m := re.fullmatch(rf"/api/ladder/heats/(\d+)/bots/({NAME})\.(out|err)", path):
        file = root / "heats" / f"heat-{int(m[1]):04d}" / "bots" / f"{m[2]}.{m[3]}"
        if file.is_file():  # the name's pattern keeps it inside the heat's folder
            return 200, "text/plain; charset=utf-8", file.read_bytes()
    if data is None:
        return 404, "application/json", b'{"error": "not found"}'
    return 200, "application/json", json.dumps(data, indent=1).encode()


def serve(root: Path, port: int, host: str = "127.0.0.1") -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = answer(root, self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
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
