"""A practice ladder on the gateway (``--ladder DIR``): its JSON and its pages, read-only.

``GET /ladder`` (the table and the last heats), ``/ladder/heats/{n}`` (one heat),
``/ladder/teams/{name}`` (a bot's heats, places and failures), ``/ladder/heats/{n}/bots/
{name}.out`` or ``.err`` (what the bot printed in that heat), and the pages
``/dashboard/ladder`` and ``/dashboard/ladder/{name}``. Without a ladder each answers
``NO_LADDER``.

The files are read by the ladder's own code (``gateway.offline.ladder.view``), which
``gateway.main`` hands in as a ``LadderFiles``: this ring does not import the offline
commands. Reads run in a worker thread, one at a time: a fold of many heats is CPU
work, and the gateway's one thread serves the bots.

Bot output is served to anyone who can reach the gateway, as ``tradepit ladder --serve``
always did: the teams read each other's failures there. It is sent as plain text that
a browser may not sniff into HTML (a bot prints what it likes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import trio
from quart import Response
from quart_trio import QuartTrio

from gateway.errors import ApiError
from gateway.web import ladder_page
from gateway.web.envelope import envelope_body, new_request_id

T = TypeVar("T")

#: Pages and reads for people, not the bots' API: outside the OpenAPI document, like
#: ``gateway.web.dashboard.PATHS``; docs/protocol.md lists them.
PATHS = (
    "/ladder",
    "/ladder/heats/<number>",
    "/ladder/teams/<name>",
    "/ladder/heats/<number>/bots/<file>",
    "/dashboard/ladder",
    "/dashboard/ladder/<name>",
)
HEAT_NUMBER = re.compile(r"[0-9]{1,9}")
STREAMS = ("out", "err")


class LadderFiles(Protocol):
    """What the gateway reads of a ladder (``gateway.offline.ladder.view.Ladder``)."""

    label: str  # its directory as the organiser named it: the pages' replay commands

    def valid_name(self, name: str) -> bool: ...
    def overview(self) -> dict[str, Any]: ...
    def heat(self, number: int) -> dict[str, Any] | None: ...
    def team(self, name: str) -> dict[str, Any] | None: ...
    def output(self, number: int, name: str, stream: str) -> bytes | None: ...


def heat_number(raw: str) -> int:
    if not HEAT_NUMBER.fullmatch(raw):
        raise ApiError(
            "INVALID_REQUEST", f"a heat is a number, not {raw[:32]!r}", {"field": "number"}
        )
    return int(raw)


def register(app: QuartTrio, files: LadderFiles | None) -> None:
    limiter = trio.CapacityLimiter(1)

    def ladder() -> LadderFiles:
        if files is None:
            raise ApiError("NO_LADDER", "this gateway shows no ladder: start it with --ladder DIR")
        return files

    def bot_name(lad: LadderFiles, name: str) -> str:
        if not lad.valid_name(name):
            raise ApiError("INVALID_REQUEST", f"not a bot's name: {name[:64]!r}", {"field": "name"})
        return name

    async def read(fn: Callable[..., T], *args: Any) -> T:
        return await trio.to_thread.run_sync(fn, *args, limiter=limiter)

    def enveloped(data: Any) -> Response:
        return Response(envelope_body(data, new_request_id()), content_type="application/json")

    def page(text: str) -> Response:
        return Response(text, content_type="text/html; charset=utf-8")

    async def team_of(name: str) -> tuple[LadderFiles, dict[str, Any]]:
        lad = ladder()
        data = await read(lad.team, bot_name(lad, name))
        if data is None:
            raise ApiError("BOT_NOT_FOUND", f"no bot {name[:64]!r} in this ladder")
        return lad, data

    @app.route("/ladder", methods=["GET"])
    async def ladder_overview() -> Response:
        return enveloped(await read(ladder().overview))

    @app.route("/ladder/heats/<number>", methods=["GET"])
    async def ladder_heat(number: str) -> Response:
        lad = ladder()
        data = await read(lad.heat, heat_number(number))
        if data is None:
            raise ApiError("HEAT_NOT_FOUND", f"no heat {number} in this ladder")
        return enveloped(data)

    @app.route("/ladder/teams/<name>", methods=["GET"])
    async def ladder_team(name: str) -> Response:
        return enveloped((await team_of(name))[1])

    @app.route("/ladder/heats/<number>/bots/<file>", methods=["GET"])
    async def ladder_output(number: str, file: str) -> Response:
        lad = ladder()
        name, _, stream = file.rpartition(".")
        if stream not in STREAMS:
            raise ApiError("NOT_FOUND", "a bot's output is NAME.out or NAME.err")
        body = await read(lad.output, heat_number(number), bot_name(lad, name), stream)
        if body is None:
            raise ApiError("BOT_NOT_FOUND", f"no output of {name[:64]!r} in heat {number}")
        return Response(
            body,
            content_type="text/plain; charset=utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    @app.route("/dashboard/ladder", methods=["GET"])
    async def ladder_page_overview() -> Response:
        lad = ladder()
        return page(ladder_page.overview(await read(lad.overview), lad.label))

    @app.route("/dashboard/ladder/<name>", methods=["GET"])
    async def ladder_page_bot(name: str) -> Response:
        lad, data = await team_of(name)
        return page(ladder_page.bot(data, lad.label))
