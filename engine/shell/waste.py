"""What one team's wasted writes may cost the log, across every gateway.

Each gateway keeps a bucket per team that only waste drains (``gateway.service.budget``): a
write that placed or cancelled nothing. It answers most of a flood ``429`` without a
round trip, but it is one gateway's: a team that spreads its flood over N gateways
would get N buckets, and N times the log growth. This is the same bucket kept once, in
the engine, before sequencing: while a team's is empty, its writes are refused
``RATE_LIMIT_EXCEEDED`` unsequenced, so they never reach the log, whatever gateway they
came through. Refusing before the sequencer is safe for replay: the log holds only what
was sequenced, and this decides nothing the core decides.

Waste, from the command and the events the core answered: an order or quote that was
refused, an order that repeated a live ``client_order_id`` (answered with the
original), a cancel that cancelled nothing. The bucket refills at the role's
``orders_per_second`` and holds ``[gateway] budget_burst_seconds`` of it, like the
gateways': a bot within its rate never meets it.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.config import Config
from engine.records import (
    AnyRecord,
    CancelAll,
    CancelOrder,
    Command,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    SubmitOrder,
    SubmitQuote,
)

NANOS = 1_000_000_000
#: The team commands a bucket meters; the rest (registration, admin, the clock) are not
#: a team's to flood.
METERED = (SubmitOrder, SubmitQuote, CancelOrder, CancelAll)


def wasted(command: Command, events: Sequence[AnyRecord]) -> bool:
    """True if ``command`` placed or cancelled nothing."""
    if isinstance(command, CancelOrder | CancelAll):
        return not any(isinstance(e, OrderCancelled) for e in events)
    if any(isinstance(e, OrderRejected) for e in events):
        return True
    return any(isinstance(e, OrderAccepted) and e.duplicate for e in events)


class WasteBudget:
    """Per-team buckets on the sequencer's clock (nanoseconds)."""

    def __init__(self, config: Config) -> None:
        self.rates = {role: max(r.orders_per_second, 1) for role, r in config.roles.items()}
        self.burst_seconds = config.gateway.budget_burst_seconds
        self._levels: dict[str, tuple[float, int]] = {}  # team -> (tokens, as of ns)
        self.refused = 0

    def _level(self, team_id: str, rate: int, now_ns: int) -> float:
        capacity = max(rate * self.burst_seconds, 1.0)
        level, at = self._levels.get(team_id, (capacity, now_ns))
        return min(capacity, level + max(now_ns - at, 0) * rate / NANOS)

    def retry_after(self, command: Command, role: str | None, now_ns: int) -> float | None:
        """Seconds until the team may write again, or None if this command may go on."""
        team_id = getattr(command, "team_id", None)
        if not isinstance(command, METERED) or team_id is None or role is None:
            return None
        rate = self.rates.get(role, 1)
        level = self._level(team_id, rate, now_ns)
        self._levels[team_id] = (level, now_ns)
        if level >= 1.0:
            return None
        self.refused += 1
        return round(max((1.0 - level) / rate, 0.001), 3)

    def spend(self, command: Command, events: Sequence[AnyRecord], now_ns: int) -> None:
        """After the core answered ``command``: take a token if it was waste."""
        team_id = getattr(command, "team_id", None)
        if not isinstance(command, METERED) or team_id is None or not wasted(command, events):
            return
        level, at = self._levels.get(team_id, (0.0, now_ns))
        self._levels[team_id] = (level - 1.0, at)
