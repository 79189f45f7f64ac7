"""Refusals as exceptions: one class per family of error codes, each carrying the code."""

from __future__ import annotations

from typing import Any


class TradepitError(Exception):
    """Anything this library raises on purpose."""


class ApiError(TradepitError):
    """The server refused a request: ``code`` is the contract, ``details`` its particulars."""

    def __init__(self, code: str, message: str, details: dict[str, Any], status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details
        self.status = status

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before trying again, when the server said (``details.retry_after``)."""
        value = self.details.get("retry_after")
        return float(value) if isinstance(value, int | float) else None


class RateLimited(ApiError):
    """RATE_LIMIT_EXCEEDED."""


class Unavailable(ApiError):
    """SERVICE_UNAVAILABLE: the engine is down or restarting."""


class LimitExceeded(ApiError):
    """POSITION_LIMIT_EXCEEDED."""


class MarketClosed(ApiError):
    """MARKET_CLOSED; TRADING_HALTED (an organisers' halt, until they resume);
    COMPETITION_ENDED (the closing bell: for good)."""


class NotFound(ApiError):
    """ORDER_NOT_FOUND, TEAM_NOT_FOUND, NOT_FOUND."""


class Unauthorized(ApiError):
    """UNAUTHORIZED, FORBIDDEN."""


class SnapshotRequired(ApiError):
    """SNAPSHOT_REQUIRED: the history asked for is gone."""


class InvalidRequest(ApiError):
    """Every other 4xx: the request itself is wrong and resending it will not help."""


class TransportError(TradepitError):
    """No answer from the server after every retry the call allows."""


class Unreachable(TransportError):
    """The server never answered: not running, or a wrong URL. Raised after the client's
    ``first_contact`` seconds (5), not its ``retry_for`` (60): a server that answered once
    and then went away is waited for, one that never answered is a mistake to report."""


class KeyFromAnotherSession(TradepitError):
    """A saved key file holds a key this server does not know (a 401): it was registered
    on another session (or another server). Delete the file to register anew."""


_BY_CODE: dict[str, type[ApiError]] = {
    "RATE_LIMIT_EXCEEDED": RateLimited,
    "SERVICE_UNAVAILABLE": Unavailable,
    "POSITION_LIMIT_EXCEEDED": LimitExceeded,
    "MARKET_CLOSED": MarketClosed,
    "TRADING_HALTED": MarketClosed,
    "COMPETITION_ENDED": MarketClosed,
    "ORDER_NOT_FOUND": NotFound,
    "TEAM_NOT_FOUND": NotFound,
    "NOT_FOUND": NotFound,
    "UNAUTHORIZED": Unauthorized,
    "FORBIDDEN": Unauthorized,
    "SNAPSHOT_REQUIRED": SnapshotRequired,
}


def api_error(code: str, message: str, details: dict[str, Any], status: int) -> ApiError:
    """The ``ApiError`` subclass of an error code, made from the envelope's error."""
    return _BY_CODE.get(code, InvalidRequest)(code, message, details, status)
