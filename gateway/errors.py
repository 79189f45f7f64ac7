"""API errors: a code from SPEC, the HTTP status it maps to, and close codes of ``/ws``.

HTTP status by kind of refusal (the code in the envelope is what a bot should branch on):

* 400 ``INVALID_JSON``: the body is not JSON at all.
* 401 ``UNAUTHORIZED``: missing or unknown ``X-API-Key``.
* 403 ``FORBIDDEN``: another team's resource; ``REPLAY_READ_ONLY``: order entry on a replay.
* 404 ``NOT_FOUND``, ``ORDER_NOT_FOUND``, ``TEAM_NOT_FOUND``, ``INVALID_INSTRUMENT`` in a path.
* 409 state conflicts, valid requests the current state refuses:
  ``POSITION_LIMIT_EXCEEDED``, ``MARKET_CLOSED``, ``TEAM_NAME_TAKEN``.
* 410 ``SNAPSHOT_REQUIRED``: history older than the gateway keeps.
* 413 ``PAYLOAD_TOO_LARGE``; 405 ``METHOD_NOT_ALLOWED``.
* 422 request validation, refused whatever the state: ``INVALID_*``, ``MISSING_PRICE``,
  ``ORDER_TYPE_NOT_ALLOWED``, ``INVALID_REQUEST`` (wrong types, unknown fields) and any
  other engine rejection code.
* 429 ``RATE_LIMIT_EXCEEDED`` with ``details.retry_after`` and a ``Retry-After`` header.
* 500 ``INTERNAL_ERROR``; 503 ``SERVICE_UNAVAILABLE`` (engine down) with ``retry_after``.
"""

from __future__ import annotations

import math
from typing import Any

# WebSocket close codes of /ws
WS_BAD_KEY = 1008  # policy violation: missing or unknown api_key, malformed last_seq
WS_SLOW_CONSUMER = 4008  # the bounded buffer overflowed: reconnect with last_seq
WS_SNAPSHOT_REQUIRED = 4010  # last_seq older than the kept history: reconnect without it
WS_TOO_MANY_CONNECTIONS = 4029  # more than ws_max_connections_per_team
WS_GATEWAY_FULL = 1013  # "try again later": the gateway holds ws_max_connections already
WS_GOING_AWAY = 1001  # the gateway is shutting down
WS_TRY_AGAIN = 1013  # this gateway is behind the log (the read barrier timed out): reconnect

STATUS: dict[str, int] = {
    "INVALID_JSON": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "ORDER_NOT_FOUND": 404,
    "TEAM_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "POSITION_LIMIT_EXCEEDED": 409,
    "MARKET_CLOSED": 409,
    "TEAM_NAME_TAKEN": 409,
    "MAX_TEAMS_REACHED": 409,
    "REGISTRATION_CLOSED": 403,
    "INVALID_INVITE": 403,
    "REPLAY_READ_ONLY": 403,
    "SNAPSHOT_REQUIRED": 410,
    "PAYLOAD_TOO_LARGE": 413,
    "RATE_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
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
