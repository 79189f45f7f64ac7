"""The ladder's two pages, as HTML made on the server from the ladder's views.

``overview``: the table (rating as mu - 3 sigma, games, failures) and the last heats,
each with its JSON and the command that replays it; ``bot``: one bot's heats, places,
output and errors. Server-made, not drawn by a script like the live page: a ladder
changes once a heat, and a page that is whole in its HTML is one ``curl`` to check.
They share the live page's stylesheet and header. Every name on them was typed by a
team, so everything is escaped, and names in links are quoted.

Both ``gateway.web.ladder`` and ``tradepit ladder DIR --serve`` (``live=False``: no live
page beside it) render through here.
"""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import quote

from engine.records import ROLES

PAGES = "/dashboard/ladder"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def bot_url(name: str) -> str:
    return f"{PAGES}/{quote(name, safe='')}"


def _page(title: str, body: str, live: bool) -> str:
    live_link = '<a href="/dashboard">live</a>' if live else ""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n"
        '<link rel="stylesheet" href="/dashboard/dashboard.css">\n</head>\n'
        '<body class="ladder-page">\n<header>\n  <h1>tradepit</h1>\n'
        f'  <nav id="nav">{live_link}<a href="{PAGES}" aria-current="page">ladder</a></nav>\n'
        f"</header>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _when(started: float | None) -> str:
    return "-" if started is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(started))


def _replay(label: str, session_dir: str | None) -> str:
    if session_dir is None:
        return "-"
    return f"<code>tradepit replay serve {_e(label)}/{_e(session_dir)}</code>"


def _failed(reason: str | None) -> str:
    return "" if not reason else f' <span class="unmet" title="{_e(reason)}">failed</span>'


def _table_rows(table: list[dict[str, Any]]) -> str:
    return "".join(
        f'<tr><td>{r["place"]}</td><td class="name"><a href="{_e(bot_url(r["name"]))}">'
        f'{_e(r["name"])}</a></td><td class="name role-tag">{_e(r["role"])}</td>'
        f'<td class="rating">{r["rating"]:.2f}</td><td>{r["games"]}</td><td>{r["wins"]}</td>'
        f'<td>{r["failures"]}</td><td class="name">{_e(r["last_failure"] or "")}</td></tr>\n'
        for r in table
    )


def _places(teams: list[dict[str, Any]]) -> str:
    """Each role's places: a heat ranks its teams within their role."""
    order = {role: i for i, role in enumerate(ROLES)}
    parts = []
    for role in sorted({t["role"] for t in teams}, key=lambda r: (order.get(r, len(order)), r)):
        mine = sorted((t for t in teams if t["role"] == role), key=lambda t: (t["rank"], t["name"]))
        places = ", ".join(
            f'<a href="{_e(bot_url(t["name"]))}">{_e(t["name"])}</a> #{t["rank"]}'
            + _failed(t["failed"])
            for t in mine
        )
        parts.append(f'<span class="role-tag">{_e(role)}</span> {places}')
    return " &middot; ".join(parts)


def _heat_rows(heats: list[dict[str, Any]], label: str) -> str:
    rows = []
    for h in heats:
        places = _places(h["teams"]) if not h.get("void") else f"void: {_e(h['void'])}"
        rows.append(
            f'<tr><td><a href="{_e(h["url"])}">{h["number"]}</a></td>'
            f'<td class="name when">{_when(h.get("started"))}</td><td class="name">{places}</td>'
            f'<td class="name">{_replay(label, h["session_dir"])}</td></tr>\n'
        )
    return "".join(rows)


def overview(view: dict[str, Any], label: str, live: bool = True) -> str:
    """``view``: the ladder's overview (``table`` and ``heats``); ``label``: its DIR."""
    body = (
        '<section id="ladder-standings">\n<h2>Ladder</h2>\n'
        '<table id="ladder-table"><thead><tr><th>#</th><th class="name">bot</th>'
        '<th class="name">role</th><th title="openskill: mu - 3 sigma">rating</th>'
        "<th>games</th><th>wins</th><th>failures</th>"
        '<th class="name">last failure</th></tr></thead>\n'
        f"<tbody>\n{_table_rows(view['table'])}</tbody></table>\n"
        '<p class="note">Rating: mu - 3 sigma, the conservative figure (a new bot starts '
        "near 0 and rises as it wins and as the ladder grows sure of it). Games: rated "
        "matches against a bot of its role. Click a bot for its heats and errors.</p>\n"
        "</section>\n"
        '<section id="ladder-heats">\n<h2>Last heats</h2>\n'
        '<table id="ladder-heat-list"><thead><tr><th>heat</th><th class="name">started (UTC)'
        '</th><th class="name">places in each role</th><th class="name">replay</th></tr>'
        f"</thead>\n<tbody>\n{_heat_rows(view['heats'], label)}</tbody></table>\n"
        '<p class="note">A heat\'s number opens its JSON. Replay it where the ladder runs '
        "with the command beside it, then open that server's /dashboard; "
        "<code>tradepit backtest</code> forks it (docs/ladder.md).</p>\n</section>\n"
    )
    return _page("tradepit ladder", body, live)


def _figures(team: dict[str, Any]) -> str:
    rating = team["rating"] or {}
    figures = [
        ("role", team["role"] or rating.get("role") or "-"),
        ("version", team["version"] or rating.get("version") or "-"),
        ("place", rating.get("place", "-")),
        ("rating", f"{rating['rating']:.2f}" if rating else "-"),
        ("mu", f"{rating['mu']:.2f}" if rating else "-"),
        ("sigma", f"{rating['sigma']:.2f}" if rating else "-"),
        ("games", rating.get("games", 0)),
        ("wins", rating.get("wins", 0)),
        ("failures", rating.get("failures", 0)),
    ]
    return "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in figures)


def _output(m: dict[str, Any]) -> str:
    return f'<a href="{_e(m["out"])}">.out</a> <a href="{_e(m["err"])}">.err</a>'


def bot(team: dict[str, Any], label: str, live: bool = True) -> str:
    """``team``: the ladder's view of one bot (its heats newest first, and its errors)."""
    heats = "".join(
        f'<tr><td><a href="{_e(m["url"])}">{m["heat"]}</a></td><td class="name">'
        f"{_e(m['version'])}</td><td>{m['rank']}</td><td>{_score(m['score'])}</td>"
        f'<td class="name">{_failed(m["failed"]).strip() or "ok"}</td>'
        f'<td class="name">{_output(m)}</td>'
        f'<td class="name">{_replay(label, m["session_dir"])}</td></tr>\n'
        for m in team["heats"]
    )
    errors = "".join(
        f'<tr><td><a href="{_e(m["url"])}">{m["heat"]}</a></td>'
        f'<td class="name message">{_e(m["failed"])}</td><td class="name">{_output(m)}</td></tr>\n'
        for m in team["errors"]
    )
    body = (
        f'<section id="ladder-bot">\n<h2>Bot <span>{_e(team["name"])}</span></h2>\n'
        f'<dl id="ladder-figures">{_figures(team)}</dl>\n<h3>Heats, newest first</h3>\n'
        '<table id="ladder-bot-heats"><thead><tr><th>heat</th><th class="name">version</th>'
        '<th>place</th><th>score</th><th class="name">result</th><th class="name">output</th>'
        f'<th class="name">replay</th></tr></thead>\n<tbody>\n{heats}</tbody></table>\n'
        "</section>\n"
        '<section id="ladder-errors">\n<h2>Errors</h2>\n'
        '<table id="ladder-bot-errors"><thead><tr><th>heat</th><th class="name">why it lost'
        '</th><th class="name">output</th></tr></thead>\n'
        f"<tbody>\n{errors}</tbody></table>\n"
        f'<p class="note">{"" if team["errors"] else "No failures. "}A bot\'s output '
        "(what it printed in the heat) is public, like this page: print no secrets.</p>\n"
        "</section>\n"
    )
    return _page(f"tradepit ladder: {team['name']}", body, live)
