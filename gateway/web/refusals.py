"""One line in the server log per refused malformed request, never a traceback, and at
most ``PER_SECOND`` such lines a second.

A malformed request costs its sender nothing, so whatever the server writes about it
must be bounded too (issue 13, attack 7: an upgrade request with trailing bytes once
printed two tracebacks each, 8.7 MB of log in 5 s). Lines beyond the rate are counted,
and the count is said in the next line that is written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("tradepit.gateway")

PER_SECOND = 10


class UpgradeRefused(Exception):
    """The connection cannot switch to WebSocket (e.g. bytes followed the upgrade request);
    the HTTP side has already answered it 400."""


class RefusalLog:
    def __init__(
        self, per_second: int = PER_SECOND, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self.now = now
        self._second = -1.0
        self._written = 0
        self.suppressed = 0  # lines not written since the last one that was
        self.total = 0

    def refused(self, what: str, reason: str) -> bool:
        """Log ``what`` was refused for ``reason`` (one line); False if rate-limited."""
        self.total += 1
        second = float(int(self.now()))
        if second != self._second:
            self._second, self._written = second, 0
        if self._written >= self.per_second:
            self.suppressed += 1
            return False
        self._written += 1
        more = f" ({self.suppressed} more not logged)" if self.suppressed else ""
        self.suppressed = 0
        # one line whatever the reason holds: a peer's bytes never start a new line
        log.warning("refused %s: %s%s", what, reason.replace("\n", " ")[:200], more)
        return True


refusals = RefusalLog()
