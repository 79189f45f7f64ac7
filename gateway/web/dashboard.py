"""The dashboard page and its files, and the replay viewer's seek.

The page is plain HTML, CSS and ES modules shipped in ``gateway/web/static`` (package
data): no build step, nothing fetched from the internet. Its live data comes from
``/ws/public`` (``gateway.web.public_ws``) and ``GET /health``; organiser buttons call
the existing admin routes, so every action is a command in the log as before.

``GET /replay/state?seq=N`` answers only under ``tradepit replay serve``: the state
at seq N exactly as ``tradepit replay inspect --at-seq N`` computes it (the same
``state_at`` with its snapshot cache, the same ``view`` and ``render``), folded in a
worker thread so the gateway keeps serving while a seek folds; the answer also says
which snapshot it started from and how many records it folded. ``GET /replay/index``
is the progress of the pass that writes those snapshots (``gateway.replay.background``),
for the viewer's "indexing n%".
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import trio
from quart import Response, redirect, request
from quart_trio import QuartTrio

from engine import log as logmod
from engine.money import to_dollars
from engine.records import News, TeamRegistered, TickStarted, Trade, UnderlyingPrices
from gateway.errors import ApiError
from gateway.replay.paced import Replaying
from gateway.service import Gateway
from gateway.service.metrics import Metrics
from gateway.web.envelope import envelope_body, new_request_id

T = TypeVar("T")

#: The files the page is made of, and their content types; nothing else is served.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "chart.js": "text/javascript; charset=utf-8",
    "stream.js": "text/javascript; charset=utf-8",
    "standings.js": "text/javascript; charset=utf-8",
    "team.js": "text/javascript; charset=utf-8",
    "debugger.js": "text/javascript; charset=utf-8",
}


#: The page's routes: the organisers' and spectators' page, not the bots' REST API, so
#: they are outside the OpenAPI document (like ``/admin``); docs/protocol.md lists them.
PATHS = (
    "/",
    "/dashboard",
    "/dashboard/<name>",
    "/replay/state",
    "/replay/ticks",
    "/replay/index",
    "/replay/team",
)


@functools.cache
def static_file(name: str) -> bytes:
    """Read once: a ``/dashboard`` flood read the file from disk on every request, in the
    gateway's one thread (issue 38, item 8: a team's ack p50 from 3 to 200 ms)."""
    return resources.files("gateway.web").joinpath("static", name).read_bytes()


#: Seeks folding at once, and waiting for their turn; beyond, 503 with ``retry_after``.
#: A seek folds in a worker thread but holds the GIL while it folds: 64 at once pushed
#: ``/health`` to 2.1 s (issue 38, item 8). One core for seeks, one for the gateway.
SEEKS = 1
SEEKS_WAITING = 8


def seek(log_dir: Path, seq: int, team: str | None = None) -> dict[str, Any]:
    """``replay inspect --at-seq seq``: its JSON view and its printed text; with ``team``,
    also that team's per-tick score series up to this seq (``series``, the debugger's
    P&L to that point; the printed text is the same either way)."""
    from gateway.replay import inspect
    from gateway.scoring import views

    projection, start, folded = inspect.state_at(log_dir, seq)
    data = inspect.view(projection, None, None)
    scored = projection.scorer.teams.get(team) if team else None
    if scored is not None:
        data["series"] = views.series(scored)
    out = io.StringIO()
    inspect.render(data, out)
    with logmod.open_reader(logmod.log_directory(log_dir)) as r:
        head = r.head_seq
    return {
        **data,
        "head_seq": head,
        "text": out.getvalue(),
        "snapshot_seq": start,
        "folded": folded,
    }


_scans: dict[tuple[Path, int], dict[str, Any]] = {}


def ticks(data_dir: Path) -> dict[str, Any]:
    """The recording's timeline for the viewer, one scan per head: ``ticks`` as
    ``[tick_number, seq]`` of every tick start (the tick slider), ``prices`` as
    ``[tick_number, spx, spy]`` and ``news`` as ``[tick_number, headline]`` (the chart);
    ``teams`` as ``[team_id, team_name, role]`` (the debugger's choice of team); ``trades``
    as ``[seq, tick_number, instrument_id, price, quantity, aggressor]``, the public tape,
    which the viewer cuts at each seek's seq (a seek's view has books, not trades)."""
    with logmod.open_reader(logmod.log_directory(data_dir)) as reader:
        head = reader.head_seq
        key = (data_dir, head)
        if key not in _scans:
            starts: list[tuple[int, int]] = []
            prices: list[tuple[int, float, float]] = []
            news: list[tuple[int, str]] = []
            teams: list[tuple[str, str, str]] = []
            tape: list[tuple[int, int, str, float, int, str]] = []
            tick = 0
            for r in reader.read(1, head):
                if isinstance(r, TickStarted):
                    tick = r.tick_number
                    starts.append((tick, r.seq))
                elif isinstance(r, UnderlyingPrices):
                    prices.append((tick, r.spx / 100, r.spy / 100))
                elif isinstance(r, News):
                    news.append((r.tick_number, r.headline))
                elif isinstance(r, TeamRegistered):
                    teams.append((r.team_id, r.team_name, r.role))
                elif isinstance(r, Trade):
                    aggressor = "sell" if r.maker_side == "buy" else "buy"
                    tape.append(
                        (r.seq, tick, r.instrument_id, to_dollars(r.price), r.quantity, aggressor)
                    )
            _scans.clear()  # a recording does not grow under replay serve: one entry is enough
            _scans[key] = {
                "ticks": starts,
                "prices": prices,
                "news": news,
                "teams": teams,
                "trades": tape,
            }
    return {"head_seq": head, **_scans[key]}


class Seeks:
    """At most ``SEEKS`` replay folds at once, ``SEEKS_WAITING`` more queued."""

    def __init__(self, metrics: Metrics) -> None:
        self.limiter = trio.CapacityLimiter(SEEKS)
        self.queued = 0  # running or waiting
        self.metrics = metrics  # the most at once and the refusals, for /metrics

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.queued >= SEEKS + SEEKS_WAITING:
            self.metrics.replay_seeks_refused += 1
            raise ApiError(
                "SERVICE_UNAVAILABLE",
                "too many replay seeks at once: try again",
                {"retry_after": 1.0},
            )
        self.queued += 1
        self.metrics.replay_seeks_most = max(self.metrics.replay_seeks_most, self.queued)
        try:
            return await trio.to_thread.run_sync(fn, *args, limiter=self.limiter)
        finally:
            self.queued -= 1


def register(app: QuartTrio, gw: Gateway, replay: Replaying | None = None) -> None:
    seeks = Seeks(gw.metrics)

    @app.route("/", methods=["GET"])
    async def root() -> Any:
        return redirect("/dashboard")

    @app.route("/dashboard", methods=["GET"])
    async def dashboard_page() -> Response:
        return Response(static_file("index.html"), content_type=FILES["index.html"])

    @app.route("/dashboard/<name>", methods=["GET"])
    async def dashboard_file(name: str) -> Response:
        if name not in FILES:
            raise ApiError("NOT_FOUND", f"no dashboard file {name[:64]!r}")
        return Response(static_file(name), content_type=FILES[name])

    @app.route("/replay/state", methods=["GET"])
    async def replay_seek() -> Response:
        if replay is None:
            raise ApiError("NOT_FOUND", "this gateway is not serving a replay")
        log_dir = replay.log_dir
        raw = request.args.get("seq", "")
        if not raw.isdigit():
            raise ApiError("INVALID_REQUEST", "seek needs ?seq=N (an integer >= 1)")
        try:
            team = request.args.get("team") or None
            data = await seeks.run(seek, log_dir, int(raw), team)
        except logmod.LogError as exc:
            raise ApiError("INVALID_REQUEST", str(exc)) from None
        return Response(envelope_body(data, new_request_id()), content_type="application/json")

    @app.route("/replay/index", methods=["GET"])
    async def replay_index() -> Response:
        if replay is None:
            raise ApiError("NOT_FOUND", "this gateway is not serving a replay")
        control = replay.control
        # public like the seek itself: the viewer has no admin token
        data = await trio.to_thread.run_sync(control.indexing)
        return Response(envelope_body(data, new_request_id()), content_type="application/json")

    @app.route("/replay/team", methods=["GET"])
    async def replay_team() -> Response:
        if replay is None:
            raise ApiError("NOT_FOUND", "this gateway is not serving a replay")
        from gateway.replay.timeline import team_events

        team = request.args.get("team", "")
        if not team:
            raise ApiError("INVALID_REQUEST", "the team's events need ?team=TEAM_ID")
        data = await trio.to_thread.run_sync(team_events, replay.log_dir, team[:64])
        if data["role"] is None:
            raise ApiError("TEAM_NOT_FOUND", f"no team {team[:64]!r} in this recording")
        return Response(envelope_body(data, new_request_id()), content_type="application/json")

    @app.route("/replay/ticks", methods=["GET"])
    async def replay_ticks() -> Response:
        if replay is None:
            raise ApiError("NOT_FOUND", "this gateway is not serving a replay")
        log_dir = replay.log_dir
        data = await seeks.run(ticks, log_dir)
        return Response(envelope_body(data, new_request_id()), content_type="application/json")
