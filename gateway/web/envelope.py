"""The response envelope, as bytes: success, request_id, order_id, data, error, timestamp
(docs/protocol.md, The envelope).

Both ways in answer through here: Quart's routes (``rest.py``) and the order-entry fast
path (``fastpath.py``), so an error looks the same whichever served it."""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

from gateway.errors import ApiError
from gateway.projection.messages import encode, iso_timestamp

# a random per-process prefix and a counter: unique across gateways and restarts in
# practice, and without a urandom call per request
_PREFIX = secrets.token_hex(3)
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"req_{_PREFIX}{next(_COUNTER) & 0xFFFFFF:06x}"


def envelope(
    data: Any,
    request_id: str | None,
    *,
    order_id: str | None = None,
    error: ApiError | None = None,
) -> dict[str, Any]:
    """The envelope's fields, in their order: REST's answer, and a WebSocket response's."""
    return {
        "success": error is None,
        "request_id": (error.request_id if error else None) or request_id,
        "order_id": order_id,
        "data": data,
        "error": None
        if error is None
        else {"code": error.code, "message": error.message, "details": error.details},
        "timestamp": iso_timestamp(time.time_ns()),
    }


def envelope_body(
    data: Any, request_id: str, *, order_id: str | None = None, error: ApiError | None = None
) -> bytes:
    return encode(envelope(data, request_id, order_id=order_id, error=error))


def error_answer(error: ApiError, request_id: str) -> tuple[int, bytes, dict[str, str]]:
    """An ``ApiError``'s answer: its HTTP status, its envelope and its headers."""
    return error.status, envelope_body(None, request_id, error=error), error.headers()


def internal_error() -> ApiError:
    """What a bug is answered with: the details stay in the server's log."""
    return ApiError("INTERNAL_ERROR", "internal error; the request may be retried")
