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
