"""A client-side token bucket shaped like the server's rule.

The server allows ``orders_per_second`` orders in any sliding second of its clock, so
each token comes back one second (plus a margin for the two clocks) after it was spent,
not at a steady drip: a drip would let through up to twice the rate in one window.

On a lockstep session (docs/backtest.md) the server's clock is the session's: it stands
still while a tick lasts. The bucket then reads that clock (``now``, the last tick's
time) and never waits, since no wait would bring a token back before the next tick:
``take`` refuses at once with ``RATE_LIMIT_EXCEEDED``, as the server would.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from tradepit.errors import RateLimited

#: The role's orders per second with the default config (docs/rules.md, "Roles").
ROLE_RATES: dict[str, float] = {"market_maker": 10, "hedge_fund": 5, "arbitrage": 7, "retail": 1}


class TokenBucket:
    """Paces orders to a rate per sliding second, as the server counts them."""

    def __init__(
        self,
        per_second: float,
        margin: float = 0.05,
        now: Callable[[], float] = time.monotonic,
        wait: bool = True,
    ) -> None:
        """``now`` is the clock the server counts on (the session's, in lockstep); with
        ``wait`` False a spent bucket refuses at once instead of waiting."""
        self.capacity = max(1, int(per_second))
        self.margin = margin
        self.now = now
        self.wait = wait
        self._spent: deque[float] = deque()
        self._closed_until = 0.0
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for a token, then spend it."""
        async with self._lock:
            while True:
                now = self.now()
                while self._spent and self._spent[0] + 1.0 + self.margin <= now:
                    self._spent.popleft()
                wait = self._closed_until - now
                if len(self._spent) >= self.capacity:
                    wait = max(wait, self._spent[0] + 1.0 + self.margin - now)
                if wait <= 0:
                    self._spent.append(now)
                    return
                if not self.wait:
                    raise RateLimited(
                        "RATE_LIMIT_EXCEEDED",
                        "the role's rate is spent for this tick of the session's clock",
                        {"retry_after": round(wait, 3)},
                        429,
                    )
                await asyncio.sleep(wait)

    def hold(self, seconds: float) -> None:
        """The server said ``retry_after``: no token before then."""
        self._closed_until = max(self._closed_until, self.now() + seconds)
