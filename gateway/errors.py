"""API errors and WebSocket close codes, each stated once with what it means.

``CODES`` is every error code a client can receive, with its HTTP status and when it is
sent; ``CLOSE_CODES`` is every close code of ``/ws``. docs/protocol.md's tables (and the
README's codes by status) are rendered from them (``python -m tests.docs.extract
--write``), and ``tests/docs`` fails when the code sends a code these tables lack or a
table in the docs is stale. A new code is one row: ``"NAME": Code(status, "when, in the
docs' words"),``.

The code in the envelope is what a bot should branch on; the status follows it: 400 a
body that is not JSON, 401/403 who may not, 404 what does not exist, 409 a valid
request the current state refuses, 422 a request refused whatever the state (and any
engine rejection code not listed), 429 over a budget, 5xx ours.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple


class Code(NamedTuple):
    status: int  # the HTTP status of the answer
    when: str  # the docs' words: when a client gets it, and its ``details``


CODES: dict[str, Code] = {
    "INVALID_JSON": Code(400, "the body is not JSON at all"),
    "UNAUTHORIZED": Code(
        401,
        "`X-API-Key` missing or unknown; on `/admin/...`, a wrong `X-Admin-Token`",
    ),
    "FORBIDDEN": Code(
        403,
        "another team's resource (`GET /positions/{team_id}`); order entry by a team an "
        "organiser disabled; `/admin/...` while no admin token is configured",
    ),
    "REPLAY_READ_ONLY": Code(
        403,
        "order entry against `tradepit replay serve`: a replay takes no orders",
    ),
    "NOT_FOUND": Code(404, "no such path (or no such admin action)"),
    "ORDER_NOT_FOUND": Code(
        404,
        "cancelling an order that is not open: unknown, already filled or cancelled, or another"
        " team's (ids leak nothing)",
    ),
    "TEAM_NOT_FOUND": Code(404, "no such team id"),
    "NO_LADDER": Code(
        404,
        "a ladder route (`/ladder...`, `/dashboard/ladder...`) on a gateway started without "
        "`--ladder DIR`",
    ),
    "HEAT_NOT_FOUND": Code(404, "no heat of that number in the gateway's ladder"),
    "BOT_NOT_FOUND": Code(
        404,
        "no bot of that name in the gateway's ladder, or no output of it in that heat",
    ),
    "METHOD_NOT_ALLOWED": Code(405, "the path exists, the method does not"),
    "POSITION_LIMIT_EXCEEDED": Code(
        409,
        "the order's worst case breaks a position limit; `details` has the position, resting "
        "quantity, worst case and limit",
    ),
    "MARKET_CLOSED": Code(
        409,
        "the phase does not allow it (`details.phase`), or a market order outside continuous "
        "trading",
    ),
    "TRADING_HALTED": Code(
        409,
        "the organisers halted trading (`POST /admin/trading/halt`): new orders and quotes "
        "are refused until they resume it; cancels are still accepted and resting orders "
        "stay. An `event` `trading_halted` (then `trading_resumed`) is on every stream; "
        '`GET /health` says `"trading": "halted"`',
    ),
    "COMPETITION_ENDED": Code(
        409,
        "the closing bell rang (`POST /admin/competition/end`): no order, quote, cancel, "
        "registration or admin change any more; the standings are final (`GET /health`: "
        '`"ended": true`; `details.final_seq` once the engine has stopped)',
    ),
    "TEAM_NAME_TAKEN": Code(409, "the name is taken (compared case-insensitively)"),
    "MAX_TEAMS_REACHED": Code(
        409,
        "registration is full: `[teams] max_teams` teams exist (`details.max_teams`)",
    ),
    "REGISTRATION_CLOSED": Code(
        403,
        "the organiser closed registration (`POST /admin/registration/close`)",
    ),
    "INVALID_INVITE": Code(
        403,
        'with `[teams] registration = "invite"`: the `invite_code` is missing, unknown or '
        "used already (each code registers one team)",
    ),
    "SNAPSHOT_REQUIRED": Code(
        410,
        "`GET /events` asked for messages older than the gateway keeps; `details.oldest_seq`",
    ),
    "PAYLOAD_TOO_LARGE": Code(413, "a body over `[gateway] max_body_bytes`"),
    "INVALID_INSTRUMENT": Code(422, "unknown instrument id (404 when the id is in the path)"),
    "INVALID_QUANTITY": Code(
        422,
        "not a positive integer, or above the role's maximum order size (`details.max_order_size`)",
    ),
    "INVALID_PRICE": Code(
        422,
        "not a positive multiple of 0.01, too large, NaN or infinite; a quote with the bid not "
        "below the ask or a spread over 10% of mid; a price outside the price band around fair "
        'value (`details.reason: "out_of_band"`, `min`, `max`, `price`; '
        "[rules.md](rules.md#the-price-band))",
    ),
    "INVALID_SIDE": Code(422, "`side` is not `buy` or `sell`"),
    "MISSING_PRICE": Code(422, "a limit order without a price"),
    "ORDER_TYPE_NOT_ALLOWED": Code(
        422,
        "an unknown order type, one the role may not send (`details.allowed`), or the hedge "
        "fund's one-side rule (`details.resting_side`)",
    ),
    "INVALID_TEAM_NAME": Code(422, "a team name not 3-50 printable characters"),
    "INVALID_ROLE": Code(422, "not one of `market_maker`, `hedge_fund`, `arbitrage`, `retail`"),
    "INVALID_REQUEST": Code(
        422,
        "anything else malformed: a field of the wrong type, an unknown field, bad query "
        "parameters (`details.field` names the field when there is one)",
    ),
    "RATE_LIMIT_EXCEEDED": Code(
        429,
        "over the role's orders per second, or over its waste budget (refused, repeated or "
        "empty writes: see rules.md); `details.retry_after` in seconds, and a `Retry-After` "
        "header",
    ),
    "INTERNAL_ERROR": Code(500, "a bug; the request may be retried"),
    "SERVICE_UNAVAILABLE": Code(
        503,
        "the engine is down, restarting or cannot write its log; `details.retry_after` and "
        "`Retry-After`. An order refused this way was not placed, except when the message says "
        "the engine did not answer: then check `GET /orders` or `GET /events`",
    ),
}

#: Code -> HTTP status, read once per refusal.
STATUS: dict[str, int] = {code: row.status for code, row in CODES.items()}

# WebSocket close codes of /ws
WS_BAD_KEY = 1008  # policy violation: missing or unknown api_key, malformed last_seq
WS_SLOW_CONSUMER = 4008  # the bounded buffer overflowed: reconnect with last_seq
WS_SNAPSHOT_REQUIRED = 4010  # last_seq older than the kept history: reconnect without it
WS_TOO_MANY_CONNECTIONS = 4029  # more than ws_max_connections_per_team
WS_GOING_AWAY = 1001  # the gateway is shutting down
WS_MESSAGE_TOO_BIG = 1009  # hypercorn's close of a client message over its socket's limit
WS_GATEWAY_FULL = 1013  # "try again later": the gateway holds ws_max_connections already
WS_TRY_AGAIN = WS_GATEWAY_FULL  # this gateway is behind the log (the read barrier timed out)


class Close(NamedTuple):
    meaning: str
    todo: str  # what the client should do


#: Every close code of ``/ws``, in the docs' words; one row per number (1013 is two cases).
CLOSE_CODES: dict[int, Close] = {
    WS_BAD_KEY: Close(
        "missing or unknown `api_key`, or a malformed `last_seq`, `heartbeat` or `stream`",
        "fix the URL",
    ),
    WS_SLOW_CONSUMER: Close(
        "slow consumer: the connection's buffer of `[gateway] ws_queue_size` (4096) messages "
        "overflowed",
        "reconnect with `last_seq` = the last seq processed",
    ),
    WS_SNAPSHOT_REQUIRED: Close(
        "snapshot required: `last_seq` is older than the history kept, on a gateway run with "
        "`[gateway] archive = false`",
        "reconnect without `last_seq`, or rebuild state with `GET /positions` and `GET /orders`",
    ),
    WS_TOO_MANY_CONNECTIONS: Close(
        "too many connections: the team already has `[gateway] ws_max_connections_per_team` "
        "(8) on this gateway",
        "close one",
    ),
    WS_GOING_AWAY: Close(
        "going away: the gateway is shutting down",
        "reconnect, to it or another gateway, with `last_seq`",
    ),
    WS_MESSAGE_TOO_BIG: Close(
        "message too big: on `/ws`, a message over twice `[gateway] max_body_bytes` (a "
        "request over `max_body_bytes` is answered `PAYLOAD_TOO_LARGE`); on `/ws/public`, "
        "over 4096 bytes (the public stream reads nothing from the client)",
        "send requests within `max_body_bytes`; on `/ws/public` nothing but pings",
    ),
    WS_GATEWAY_FULL: Close(
        "try again later: the gateway holds `[gateway] ws_max_connections` (10000) connections, "
        "or it is behind the log and could not catch up within 5 s",
        "reconnect, with `last_seq`, after a moment (another gateway of the session will do)",
    ),
}


def status_for(code: str) -> int:
    return STATUS.get(code, 422)


class ApiError(Exception):
    """A refusal, answered as the envelope with ``success: false``."""

    def __init__(
        self,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status if status is not None else status_for(code)
        self.request_id = request_id

    @property
    def retry_after(self) -> float | None:
        value = self.details.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        return None

    def headers(self) -> dict[str, str]:
        retry = self.retry_after
        if retry is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(retry)))}
