"""Registrations the core would refuse, answered at the gateway without reaching the log.

A closed or full session refuses every registration (issue 13, attack 5: teams cost
nothing to register). The core decides (``REGISTRATION_CLOSED``, ``MAX_TEAMS_REACHED``,
both from the log's config and its ``set_registration`` records), but a refused
registration is still a command and an event in the log, and registration needs no key,
so no team's budget bounds it. The gateway's projection folds the same records, so after
its read barrier it knows what the core would answer and says it itself, with the core's
code, message and details. It never admits what the core would refuse: the core checks
again, so a registration racing another gateway's is still decided by the log.
"""

from __future__ import annotations

import ipaddress

from engine.core.rules import registration_allows
from gateway.errors import ApiError
from gateway.projection.fold import Projection


def precheck(projection: Projection) -> None:
    """Raise the core's refusal when registration is closed or the session is full."""
    if projection.final_seq:  # after the closing bell, as the core refuses it
        raise ApiError("COMPETITION_ENDED", "the competition has ended: the market stays closed")
    refusal = registration_allows(
        projection.registration_open,
        projection.registered_teams,
        projection.config.teams.max_teams,
    )
    if refusal is not None:
        raise ApiError(refusal.code, refusal.message, refusal.details)


def client_of(address: str) -> str:
    """Who an address is for the limit: an IPv4 address, or an IPv6 address's /64 (one
    host is handed a whole /64 and can pick any address in it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


class ClientLimit:
    """Registrations per client address: a bucket of ``per_minute`` refilled over a minute.

    Registration needs no key, so nothing else bounds one client: a loop took all 500
    ``max_teams`` slots in 0.65 s (issue 38, item 7). Per gateway and per address as the
    gateway sees it (behind a proxy that is the proxy's: give each gateway its own port,
    or raise the limit). Full buckets are forgotten, so the table holds only the
    addresses that registered in the last minute.
    """

    #: Addresses kept before the full buckets are swept out.
    SWEEP = 4096

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute  # 0: no limit
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)

    def take(self, address: str, now: float) -> float:
        """Take one registration for ``address``: 0.0, or the seconds until one is free."""
        if not self.per_minute:
            return 0.0
        client = client_of(address)
        rate = self.per_minute / 60.0
        tokens, at = self._buckets.get(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) * rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / rate
        self._buckets[client] = (tokens - 1.0, now)
        if len(self._buckets) > self.SWEEP:
            self._sweep(now)
        return 0.0

    def _sweep(self, now: float) -> None:
        rate, full = self.per_minute / 60.0, float(self.per_minute)
        for client, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * rate >= full:
                del self._buckets[client]
