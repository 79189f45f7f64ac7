"""Registration is the organiser's to open and close, and capped by ``[teams] max_teams``."""

from __future__ import annotations

from engine.core.exchange import default_market
from engine.records import (
    AdminApplied,
    Event,
    OrderRejected,
    RegisterTeam,
    SetRegistration,
    TeamRegistered,
)
from tests.core.fakes import Driver


def register(d: Driver, name: str) -> Event:
    [event] = d.run(RegisterTeam(team_name=name, role="hedge_fund", api_key_hash=f"h-{name}"))
    return event


def code(event: Event) -> str:
    return event.code if isinstance(event, OrderRejected) else type(event).__name__


def test_closed_at_start_then_opened_and_closed_by_admin_commands() -> None:
    d = Driver(teams={"registration_open": False})
    assert code(register(d, "early")) == "REGISTRATION_CLOSED"
    [applied] = d.run(SetRegistration(open=True, request_id="r1"))
    assert applied == AdminApplied(
        seq=applied.seq, ts=applied.ts, action="set_registration", value="true", request_id="r1"
    )
    assert code(register(d, "early")) == "TeamRegistered"
    [applied] = d.run(SetRegistration(open=False))
    assert isinstance(applied, AdminApplied)
    assert applied.value == "false"
    assert code(register(d, "late")) == "REGISTRATION_CLOSED"


def test_max_teams_counts_registered_teams_only() -> None:
    d = Driver(market=default_market, teams={"max_teams": 2})
    assert len(d.core.teams) > 2  # the house and the retail flow, never counted
    assert code(register(d, "one")) == "TeamRegistered"
    assert code(register(d, "two")) == "TeamRegistered"
    full = register(d, "three")
    assert isinstance(full, OrderRejected)
    assert (full.code, full.details, full.command) == (
        "MAX_TEAMS_REACHED",
        {"max_teams": 2},
        "register_team",
    )
    assert not any(isinstance(e, TeamRegistered) and e.team_name == "three" for e in d.log)
