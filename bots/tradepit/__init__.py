"""tradepit-bots: a client for a tradepit exchange (typed REST, a resumable stream, state)."""

from tradepit.client import Client
from tradepit.errors import (
    ApiError,
    InvalidRequest,
    KeyFromAnotherSession,
    LimitExceeded,
    MarketClosed,
    NotFound,
    RateLimited,
    SnapshotRequired,
    TradepitError,
    TransportError,
    Unauthorized,
    Unavailable,
    Unreachable,
)
from tradepit.state import State
from tradepit.stream import Stream

__all__ = [
    "ApiError",
    "Client",
    "InvalidRequest",
    "KeyFromAnotherSession",
    "LimitExceeded",
    "MarketClosed",
    "NotFound",
    "RateLimited",
    "SnapshotRequired",
    "State",
    "Stream",
    "TradepitError",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "Unreachable",
]
