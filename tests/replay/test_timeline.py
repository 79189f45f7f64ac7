"""The debugger's timeline of one team (``GET /replay/team``) against the recording."""

from __future__ import annotations

from pathlib import Path

from engine import log as logmod
from engine.money import to_dollars
from engine.records import OrderRejected, Trade
from gateway.replay.timeline import team_events
from gateway.web.dashboard import ticks

ROOT = Path(__file__).resolve().parents[2]
NEWS = ROOT / "replays" / "news-signals"
QUIET = ROOT / "replays" / "quiet-demo"


def records(path: Path) -> list[object]:
    with logmod.open_reader(path / "log") as reader:
        return list(reader.read(1, reader.head_seq))


def test_a_teams_fills_are_its_trades_and_no_one_elses() -> None:
    found = team_events(NEWS, "TEAM_0001")
    assert (found["team_name"], found["role"]) == ("maker-bot", "market_maker")
    fills = [e for e in found["events"] if e["kind"] == "fill"]
    trades = [
        r
        for r in records(NEWS)
        if isinstance(r, Trade) and "TEAM_0001" in (r.maker_team_id, r.taker_team_id)
    ]
    assert [(f["seq"], f["price"], f["quantity"]) for f in fills] == [
        (t.seq, to_dollars(t.price), t.quantity) for t in trades
    ]
    assert [e["seq"] for e in found["events"]] == sorted(e["seq"] for e in found["events"])
    # the line under its markers: the instruments it touched, a price per tick
    assert set(found["prices"]) == {e["instrument_id"] for e in found["events"]}
    # by name too
    assert team_events(NEWS, "maker-bot")["events"] == found["events"]


def test_a_refusal_has_its_code_and_an_unknown_team_has_no_role() -> None:
    refusals = [e for e in team_events(QUIET, "TEAM_0001")["events"] if e["kind"] == "refusal"]
    logged = [
        r for r in records(QUIET) if isinstance(r, OrderRejected) and r.team_id == "TEAM_0001"
    ]
    assert [(e["seq"], e["code"]) for e in refusals] == [(r.seq, r.code) for r in logged]
    assert team_events(QUIET, "TEAM_9999")["role"] is None


def test_the_timeline_lists_every_team_and_the_public_tape() -> None:
    data = ticks(NEWS)
    assert ["TEAM_0001", "maker-bot", "market_maker"] in [list(t) for t in data["teams"]]
    tape = [r for r in records(NEWS) if isinstance(r, Trade)]
    assert [t[0] for t in data["trades"]] == [r.seq for r in tape]
    assert all(len(t) == 6 for t in data["trades"])  # no team id on the public tape
