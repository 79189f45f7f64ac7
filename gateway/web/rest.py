"""The REST API on quart-trio: thin handlers over ``Gateway``, the envelope everywhere.

Every path is served bare and under ``/exchange`` (the reference API's prefix; the seed
posts to the bare ``/orders``). Every answer, success or not, is
``{success, request_id, order_id, data, error: {code, message, details}, timestamp}``,
with two headers: ``X-Gateway-Id`` (which gateway answered) and ``X-Log-Seq`` (the log
seq the answer reflects); a team's order, quote or cancel adds ``X-Stream-Seq`` (its
stream's head then). Every request but ``/health``, ``/metrics`` and the documents
waits for the read barrier first (``Gateway.read_barrier``), so it sees every write
answered before it arrived, whichever gateway took that write; ``POST /orders``
(``fastpath``) waits only when its key is not known yet.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import trio
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from engine.config import Config
from engine.records import (
    PHASES,
    AddInvites,
    ChangePhase,
    DisableTeam,
    EnableTeam,
    EndCompetition,
    SetClock,
    SetHouse,
    SetRegistration,
    SetTrading,
)
from gateway import scoring
from gateway.errors import ApiError
from gateway.projection.entities import TeamState
from gateway.projection.messages import encode
from gateway.replay.paced import ReplayControl, Replaying
from gateway.service import Gateway, hash_key, new_api_key
from gateway.web import dashboard, ladder, openapi, validate
from gateway.web.envelope import envelope_body, error_answer, internal_error, new_request_id

PREFIXES = ("", "/exchange")
HTTP_CODES = {
    400: "INVALID_JSON",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}
Handler = Callable[..., Awaitable[Response]]
#: Teams per page of ``GET /game/teams`` (and its default ``limit``).
ROSTER_PAGE_MAX = 500
#: Reads that answer at once, without the read barrier: about the gateway itself, so
#: they must work on a lagging one (``/health`` reports the lag), or fixed documents.
UNBARRIERED = frozenset(
    prefix + path for prefix in PREFIXES for path in ("/health", "/metrics", "/openapi.json")
) | {"/admin/replay"}


def _request_id() -> str:
    return validate.request_id_header(request.headers.get("X-Request-ID", "")) or new_request_id()


def admin_token(config: Config) -> str | None:
    """The admin token: the config's, else ``TRADEPIT_ADMIN_TOKEN``; None means unset."""
    return config.admin.token or os.environ.get("TRADEPIT_ADMIN_TOKEN") or None


def create_app(
    gw: Gateway, replay: Replaying | None = None, ladder_files: ladder.LadderFiles | None = None
) -> QuartTrio:
    app = QuartTrio("tradepit.gateway")
    app.config["MAX_CONTENT_LENGTH"] = gw.settings.max_body_bytes
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    gateway_id = gw.gateway_id

    def seq_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
        # read when the body is built (no await in between): the seq the body reflects
        return {
            **(headers or {}),
            "X-Gateway-Id": gateway_id,
            "X-Log-Seq": str(gw.projection.applied_seq),
        }

    def answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
        return Response(
            body, status=status, headers=seq_headers(headers), content_type="application/json"
        )

    def envelope(
        data: Any = None, *, order_id: str | None = None, stream_of: TeamState | None = None
    ) -> Response:
        # a write's answer names the head of its team's stream, built with it (no await):
        # once the bot's stream is there, its state shows what the write caused
        headers = None
        if stream_of is not None:
            headers = {"X-Stream-Seq": str(gw.streams.head(stream_of.team_id))}
        return answer(200, envelope_body(data, _request_id(), order_id=order_id), headers)

    def failure(error: ApiError) -> Response:
        return answer(*error_answer(error, _request_id()))

    @app.before_request
    async def read_barrier() -> None:
        # writes too: the key, the team and the instruments they are checked against
        # may have been committed through another gateway a moment ago
        if request.path not in UNBARRIERED:
            await gw.read_barrier()

    def route(path: str, methods: list[str]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for prefix in PREFIXES:
                app.add_url_rule(
                    prefix + path,
                    endpoint=prefix + handler.__name__,
                    view_func=handler,
                    methods=methods,
                )
            return handler

        return register

    async def body() -> bytes:
        data = await request.get_data(cache=False, as_text=False)
        assert isinstance(data, bytes)
        return data

    def team() -> TeamState:
        return gw.authenticate(request.headers.get("X-API-Key"))

    def trader() -> TeamState:
        return gw.trader(request.headers.get("X-API-Key"))

    def require_admin() -> None:
        """The admin token, never a team key: compared in constant time."""
        token = admin_token(gw.config)
        if token is None:
            raise ApiError("FORBIDDEN", "admin is off: set TRADEPIT_ADMIN_TOKEN or [admin] token")
        given = request.headers.get("X-Admin-Token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise ApiError("UNAUTHORIZED", "admin needs a valid X-Admin-Token")

    @app.route("/admin/session/<action>", methods=["POST"])
    async def admin_session(action: str) -> Response:
        require_admin()
        if action not in ("start", "stop"):
            raise ApiError("NOT_FOUND", "session actions are start and stop")
        return envelope(await gw.admin(SetClock(running=action == "start")))

    @app.route("/admin/phase/<phase>", methods=["POST"])
    async def admin_phase(phase: str) -> Response:
        require_admin()
        if phase not in PHASES:
            raise ApiError("INVALID_REQUEST", f"phase must be one of {', '.join(PHASES)}")
        return envelope(await gw.admin(ChangePhase(phase=phase)))

    @app.route("/admin/house/<switch>", methods=["POST"])
    async def admin_house(switch: str) -> Response:
        require_admin()
        if switch not in ("on", "off"):
            raise ApiError("NOT_FOUND", "the house is switched on or off")
        return envelope(await gw.admin(SetHouse(enabled=switch == "on")))

    @app.route("/admin/registration/<action>", methods=["POST"])
    async def admin_registration(action: str) -> Response:
        require_admin()
        if action not in ("open", "close"):
            raise ApiError("NOT_FOUND", "registration is opened or closed")
        return envelope(await gw.admin(SetRegistration(open=action == "open")))

    @app.route("/admin/invites", methods=["POST"])
    async def admin_invites() -> Response:
        """Invite codes for ``[teams] registration = "invite"``, each good once: shown
        here once; the log holds their SHA-256 hashes."""
        require_admin()
        codes = [secrets.token_urlsafe(16) for _ in range(validate.invites(await body()))]
        hashes = tuple(hashlib.sha256(c.encode()).hexdigest() for c in codes)
        applied = await gw.admin(AddInvites(code_hashes=hashes))
        return envelope({"seq": applied["seq"], "codes": codes})

    @app.route("/admin/teams/<team_id>/disable", methods=["POST"])
    async def admin_disable(team_id: str) -> Response:
        require_admin()
        return envelope(await gw.admin(DisableTeam(team_id=team_id[:64])))

    @app.route("/admin/teams/<team_id>/enable", methods=["POST"])
    async def admin_enable(team_id: str) -> Response:
        require_admin()
        return envelope(await gw.admin(EnableTeam(team_id=team_id[:64])))

    @app.route("/admin/trading/<action>", methods=["POST"])
    async def admin_trading(action: str) -> Response:
        require_admin()
        if action not in ("halt", "resume"):
            raise ApiError("NOT_FOUND", "trading is halted or resumed")
        return envelope(await gw.admin(SetTrading(halted=action == "halt")))

    @app.route("/admin/competition/end", methods=["POST"])
    async def admin_end() -> Response:
        require_admin()
        return envelope(await gw.admin(EndCompetition()))

    async def register() -> Response:
        wait = gw.registrations.take(request.remote_addr or "", trio.current_time())
        if wait:
            raise ApiError(
                "RATE_LIMIT_EXCEEDED",
                "too many registrations from this address: try again later",
                {"retry_after": round(wait, 3)},
            )
        api_key = new_api_key()
        command = validate.registration(await body(), hash_key(api_key))
        return envelope({**await gw.register(command), "api_key": api_key})

    @route("/game/teams/register", ["POST"])
    async def register_team() -> Response:
        return await register()

    @route("/auth/register", ["POST"])  # what older pages of the reference docs call it
    async def register_team_alias() -> Response:
        return await register()

    @route("/game/teams", ["GET"])
    async def roster() -> Response:
        offset, limit = validate.roster_args(request.args, ROSTER_PAGE_MAX)
        return envelope(gw.projection.roster(offset, limit))

    @route("/lockstep/done", ["POST"])
    async def lockstep_done() -> Response:
        me, raw = team(), await body()
        return envelope(await gw.lockstep_done(me, validate.lockstep_done(raw)))

    @route("/game/teams/<team_id>", ["GET"])
    async def get_team(team_id: str) -> Response:
        if gw.projection.team(team_id) is None:
            raise ApiError("TEAM_NOT_FOUND", f"no team {team_id!r}")
        return envelope(gw.projection.team_view(team_id))

    # POST /orders never reaches Quart: gateway/web/fastpath.py answers it in front of the app

    @route("/quotes", ["POST"])
    async def submit_quote() -> Response:
        me, raw, p = trader(), await body(), gw.projection
        return envelope(
            await gw.write(me, "quote", lambda: validate.quote(raw, me.team_id, p.config, p)),
            stream_of=me,
        )

    @route("/orders/<order_id>", ["DELETE"])
    async def cancel_order(order_id: str) -> Response:
        me = trader()
        data = await gw.write(me, "cancel", lambda: validate.cancel(me.team_id, order_id))
        return envelope(data, order_id=order_id, stream_of=me)

    @route("/orders", ["DELETE"])
    async def cancel_all() -> Response:
        me = trader()
        instrument_id = request.args.get("instrument_id")
        return envelope(
            await gw.write(
                me,
                "cancel_all",
                lambda: validate.cancel_all(me.team_id, instrument_id, gw.projection),
            ),
            stream_of=me,
        )

    @route("/orders", ["GET"])
    async def open_orders() -> Response:
        me = team()
        instrument_id = request.args.get("instrument_id")
        if instrument_id is not None:
            instrument_id = validate.instrument(gw.projection, instrument_id)
        return envelope(gw.projection.open_orders(me.team_id, instrument_id))

    @route("/positions", ["GET"])
    async def positions() -> Response:
        return envelope(gw.projection.positions_view(team().team_id))

    @route("/positions/<team_id>", ["GET"])
    async def team_positions(team_id: str) -> Response:
        me = gw.own_team(team(), team_id)
        return envelope(gw.projection.positions_view(me.team_id))

    @route("/orderbook/<instrument_id>", ["GET"])
    async def orderbook(instrument_id: str) -> Response:
        try:
            canonical = validate.instrument(gw.projection, instrument_id)
        except ApiError as exc:  # a path that names nothing: 404, with the same code
            raise ApiError(exc.code, exc.message, exc.details, status=404) from None
        return envelope(gw.projection.book_view(canonical))

    @route("/leaderboard", ["GET"])
    async def leaderboard() -> Response:
        scorer = gw.projection.scorer
        if not scorer.settings.public_leaderboard:
            team()  # key-only: any team's valid key
        return envelope(scoring.leaderboard(scorer))

    @route("/teams/<team_id>/score", ["GET"])
    async def team_score(team_id: str) -> Response:
        me = gw.own_team(team(), team_id)
        scorer = gw.projection.scorer
        if me.team_id not in scorer.teams:
            raise ApiError("TEAM_NOT_FOUND", f"no scored team {team_id!r}")
        return envelope(scoring.team_score(scorer, me.team_id))

    @route("/refusals", ["GET"])
    async def refusals() -> Response:
        # the team's own refusals, newest last: the stream has none (a refusal is the
        # answer to a request), and the dashboard's team view shows them with their codes
        return envelope(list(gw.projection.teams[team().team_id].refusals))

    @route("/instruments", ["GET"])
    async def instruments() -> Response:
        p = gw.projection
        expiry = None if p.expiry is None else p.expiry.isoformat()
        return envelope({"instruments": p.instruments_view(), "expiry": expiry})

    @route("/events", ["GET"])
    async def events() -> Response:
        me = team()
        after, limit = validate.page_args(request.args, gw.settings.events_page_max)
        page, head = await gw.events(me, after, limit)
        data = {
            "messages": [msgspec.Raw(m) for m in page],
            "count": len(page),
            "last_seq": head,
        }
        return envelope(data)

    @route("/health", ["GET"])
    async def health() -> Response:
        shown = {"replay": replay is not None, "ladder": ladder_files is not None}
        return envelope({**gw.health(), **shown})

    @route("/metrics", ["GET"])
    async def metrics() -> Response:
        return Response(gw.render_metrics(), content_type="text/plain; version=0.0.4")

    def replay_control() -> ReplayControl:
        if replay is None:
            raise ApiError("NOT_FOUND", "this gateway is not serving a replay")
        control = replay.control
        token = admin_token(gw.config)
        if token is not None and not hmac.compare_digest(
            request.headers.get("X-Admin-Token", "").encode(), token.encode()
        ):
            raise ApiError("UNAUTHORIZED", "the replay controls need X-Admin-Token")
        return control

    @app.route("/admin/replay", methods=["GET"])
    async def replay_state() -> Response:
        return envelope(replay_control().view())

    @app.route("/admin/replay/<action>", methods=["POST"])
    async def replay_action(action: str) -> Response:
        control = replay_control()
        if action == "pause":
            control.pause()
        elif action == "resume":
            control.resume()
        elif action == "step":
            to_seq = request.args.get("to_seq", "")
            if not to_seq.isdigit():
                raise ApiError("INVALID_REQUEST", "step needs ?to_seq=N")
            control.step_to(int(to_seq))
        else:
            raise ApiError("NOT_FOUND", f"no replay action {action[:32]!r}")
        return envelope(control.view())

    @route("/openapi.json", ["GET"])
    async def openapi_document() -> Response:
        return Response(encode(openapi.document()), content_type="application/json")

    @app.errorhandler(ApiError)
    async def api_error(error: ApiError) -> Response:
        return failure(error)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = HTTP_CODES.get(status, "INVALID_REQUEST" if status < 500 else "INTERNAL_ERROR")
        return failure(ApiError(code, error.description or error.name, status=status))

    @app.errorhandler(Exception)
    async def unhandled_error(error: Exception) -> Response:
        app.logger.exception("unhandled error", exc_info=error)
        return failure(internal_error())

    dashboard.register(app, gw, replay)
    ladder.register(app, ladder_files)
    return app
