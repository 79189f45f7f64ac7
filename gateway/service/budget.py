"""What one team's writes may cost the log, decided before they reach the engine.

Every command the engine sequences is written to the log, refused or not. The core's
rate limit (``engine.rules.RateLimiter``) bounds the orders a team *places*; it cannot
bound what a team makes the log *refuse*: a refused order, a resent ``client_order_id``
(answered with the original), a cancel of nothing is still a command and an event,
two records of about 250 bytes. So the gateway keeps, per team, a token bucket that
only waste drains: every write whose outcome placed or cancelled nothing (refused by
the gateway's validation or by the engine, a duplicate, a cancel of nothing) takes a
token; a write that placed or cancelled something costs nothing here (the core limits
those). The bucket refills at the role's ``orders_per_second`` and holds
``budget_burst_seconds`` of it. While it is empty, and while a team already has
``max_writes_in_flight`` writes under way, its writes are answered ``429
RATE_LIMIT_EXCEEDED`` with ``retry_after`` at once, without reaching the engine or the
log. A bot that stays within its role's rate never sees it: at most ``orders_per_second``
of its writes in any second can be waste, which is what the bucket refills.

This bucket is one gateway's; a team that spreads a flood over N gateways meets the
engine's bucket of the same size (``engine.shell.waste``), kept once per team, which
refuses its writes unsequenced. This gateway answers most of a flood without the round
trip. This gateway's own 429 and an unreachable engine's 503 are not waste: neither
writes anything. The engine's 429 is counted here as waste, so a flood spread over
gateways is soon answered by each of them without reaching the engine at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType

import trio

from engine.config import RoleRules
from gateway.errors import ApiError

#: Refusals that wrote nothing to the log, so they cost no budget.
FREE_CODES = frozenset({"SERVICE_UNAVAILABLE"})


class _Bucket:
    __slots__ = ("at", "in_flight", "level")

    def __init__(self, level: float, at: float) -> None:
        self.level = level
        self.at = at
        self.in_flight = 0


class Budget:
    def __init__(
        self,
        roles: Mapping[str, RoleRules],
        burst_seconds: float,
        max_in_flight: int,
        now: Callable[[], float] = trio.current_time,
    ) -> None:
        self.rates = {role: max(rules.orders_per_second, 1) for role, rules in roles.items()}
        self.burst_seconds = burst_seconds
        self.max_in_flight = max_in_flight
        self.now = now
        self._buckets: dict[str, _Bucket] = {}
        self.refused = 0  # writes answered 429 here, never sent to the engine

    def _capacity(self, rate: float) -> float:
        return max(rate * self.burst_seconds, 1.0)

    def write(self, team_id: str, role: str) -> Spend:
        """Admit one write of ``team_id`` (or raise the 429); use as a context manager."""
        rate = self.rates.get(role, 1)
        now = self.now()
        bucket = self._buckets.get(team_id)
        if bucket is None:
            bucket = self._buckets[team_id] = _Bucket(self._capacity(rate), now)
        else:
            bucket.level = min(self._capacity(rate), bucket.level + (now - bucket.at) * rate)
            bucket.at = now
        if bucket.level < 1.0 or bucket.in_flight >= self.max_in_flight:
            self.refused += 1
            wait = (1.0 - bucket.level) / rate if bucket.level < 1.0 else 1.0 / rate
            raise ApiError(
                "RATE_LIMIT_EXCEEDED",
                f"too many refused, repeated or empty requests (more than {rate} a second) "
                f"or more than {self.max_in_flight} at once: slow down",
                {"retry_after": round(max(wait, 0.001), 3), "remaining": 0, "limit": rate},
            )
        bucket.in_flight += 1
        return Spend(bucket)


class Spend:
    """One admitted write: waste unless ``useful()`` is called before it ends."""

    __slots__ = ("_bucket", "_useful")

    def __init__(self, bucket: _Bucket) -> None:
        self._bucket = bucket
        self._useful = False

    def useful(self) -> None:
        self._useful = True

    def __enter__(self) -> Spend:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bucket.in_flight -= 1
        if self._useful:
            return
        # anything else is waste, a client gone before its answer too: its command may be
        # in the log, and leaving early must not be a way around the budget
        if not (isinstance(error, ApiError) and error.code in FREE_CODES):
            self._bucket.level -= 1.0
