"""A client-side token bucket shaped like the server's rule.

The server allows ``orders_per_second`` orders in any sliding second of its clock, so
each token comes back one second (plus a margin for the two clocks) after it was spent,
not at a steady drip: a drip would let through up to twice the rate in one window.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

#: The role's orders per second with the default config (docs/rules.md, "Roles").
ROLE_RATES: dict[str, float] = {"market_maker": 10, "hedge_fund": 5, "arbitrage": 7, "retail": 1}


class TokenBucket:
    """Paces orders to a rate per sliding second, as the server counts them."""

    def __init__(self, per_second: float, margin: float = 0.05) -> None:
        self.capacity = max(1, int(per_second))
        self.margin = margin
        self._spent: deque[float] = deque()
        self._closed_until = 0.0
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for a token, then spend it."""
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._spent and self._spent[0] + 1.0 + self.margin <= now:
                    self._spent.popleft()
                wait = self._closed_until - now
                if len(self._spent) >= self.capacity:
                    wait = max(wait, self._spent[0] + 1.0 + self.margin - now)
                if wait <= 0:
                    self._spent.append(now)
                    return
                await asyncio.sleep(wait)

    def hold(self, seconds: float) -> None:
        """The server said ``retry_after``: no token before then."""
        self._closed_until = max(self._closed_until, time.monotonic() + seconds)
