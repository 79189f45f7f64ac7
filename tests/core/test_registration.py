"""Registration is the organiser's to open and close, and capped by ``[teams] max_teams``."""

from __future__ import annotations

from engine.core.exchange import default_market
from engine.records import (
    AddInvites,
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


def test_names_that_read_as_a_team_id_are_refused() -> None:
    d = Driver()
    for name in ("TEAM_0001", "team 7", "Team-O0O2", "ＴＥＡＭ０００１", "TΕAM_0003"):
        refused = register(d, name)
        assert isinstance(refused, OrderRejected), name
        assert refused.code == "INVALID_TEAM_NAME"
    assert code(register(d, "Team Oil")) == "TeamRegistered"  # no digit: a name


def test_homoglyphs_of_another_teams_name_are_taken() -> None:
    d = Driver()
    assert code(register(d, "Alpha Team")) == "TeamRegistered"
    # Cyrillic А and а, Greek Α, fullwidth, a digit for a letter, other separators
    for twin in ("Аlphа Team", "ΑLPHA TEAM", "Ａｌｐｈａ Ｔｅａｍ", "A1pha-Team", "alpha_team"):
        refused = register(d, twin)
        assert isinstance(refused, OrderRejected), twin
        assert refused.code == "TEAM_NAME_TAKEN"
        assert refused.details == {"team_id": "TEAM_0001"}
    assert code(register(d, "Alphabet")) == "TeamRegistered"


def test_invite_mode_takes_each_code_once() -> None:
    d = Driver(teams={"registration": "invite"})

    def join(name: str, invite: str | None) -> Event:
        [event] = d.run(RegisterTeam(team_name=name, role="retail", api_key_hash=f"h-{name}",
                                     invite_hash=invite))  # fmt: skip
        return event

    assert code(join("no code", None)) == "INVALID_INVITE"
    [applied] = d.run(AddInvites(code_hashes=("h1", "h2")))
    assert isinstance(applied, AdminApplied)
    assert (applied.action, applied.value) == ("add_invites", "2")
    assert code(join("unknown", "h3")) == "INVALID_INVITE"
    assert code(join("first", "h1")) == "TeamRegistered"
    assert code(join("again", "h1")) == "INVALID_INVITE"  # used once
    assert code(join("TEAM_0009", "h2")) == "INVALID_TEAM_NAME"  # a refusal keeps the code
    assert code(join("second", "h2")) == "TeamRegistered"
