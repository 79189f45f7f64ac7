"""The admin switches of a competition day in the pure core: halt and resume, the closing
bell, disable and enable. Each is a command; the core decides and records the outcome."""

from __future__ import annotations

from engine.market import SimOrder, SimQuote, SimTeam
from engine.records import (
    AdminApplied,
    CancelAll,
    CancelOrder,
    ChangePhase,
    ClockTick,
    CompetitionEnded,
    DisableTeam,
    EnableTeam,
    EndCompetition,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    PhaseChanged,
    RegisterTeam,
    SetClock,
    SetTrading,
    StartSession,
    SubmitQuote,
    Trade,
)
from tests.core.fakes import Driver

CALL = "SPX_4400_CALL"


def codes(events: list[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, OrderRejected)]


def test_a_halt_refuses_orders_and_quotes_but_allows_cancels_and_keeps_the_book() -> None:
    d = Driver()
    a, mm = d.team("alpha"), d.team("maker", "market_maker")
    resting = d.order_id(d.order(a, "buy", 2, 2400))
    [applied] = d.run(SetTrading(halted=True))
    assert isinstance(applied, AdminApplied)
    assert (applied.action, applied.value) == ("set_trading", "true")
    assert codes(d.order(a, "sell", 1, None)) == ["TRADING_HALTED"]
    assert codes(d.order(a, "buy", 1, 2300)) == ["TRADING_HALTED"]
    quote = SubmitQuote(
        team_id=mm, instrument_id=CALL, bid_price=2400, bid_size=1, ask_price=2500, ask_size=1
    )
    assert codes(d.run(quote)) == ["TRADING_HALTED"]
    assert d.core.best_bid(CALL) == (2400, 2)  # the book is kept
    d.run(SetTrading(halted=False))
    second = d.order_id(d.order(a, "buy", 1, 2300))
    d.run(SetTrading(halted=True))
    [cancelled] = d.run(CancelOrder(team_id=a, order_id=resting))
    assert isinstance(cancelled, OrderCancelled)
    assert cancelled.reason == "user"
    [cancel_all] = d.run(CancelAll(team_id=a))
    assert isinstance(cancel_all, OrderCancelled)
    assert cancel_all.order_id == second
    assert d.core.best_bid(CALL) is None


def test_trading_resumes_where_it_stopped() -> None:
    d = Driver()
    a, b = d.team("alpha"), d.team("bravo")
    d.order(a, "buy", 2, 2400)
    d.run(SetTrading(halted=True))
    [resumed] = d.run(SetTrading(halted=False))
    assert isinstance(resumed, AdminApplied)
    assert resumed.value == "false"
    trades = [e for e in d.order(b, "sell", 2, None) if isinstance(e, Trade)]
    assert [(t.price, t.quantity) for t in trades] == [(2400, 2)]


def test_a_phase_change_during_a_halt_trades_nothing_and_the_resume_uncrosses() -> None:
    d = Driver(phase="pre_open")
    a, b = d.team("alpha"), d.team("bravo")
    d.order(a, "buy", 3, 2600)
    d.order(b, "sell", 3, 2400)  # crossed: pre_open does not match
    d.run(SetTrading(halted=True))
    opening = d.run(ChangePhase(phase="opening_auction"))
    assert [type(e) for e in opening] == [PhaseChanged]  # no uncross while halted
    d.run(ChangePhase(phase="continuous"))
    resumed = d.run(SetTrading(halted=False))
    trades = [e for e in resumed if isinstance(e, Trade)]
    assert [t.quantity for t in trades] == [3]  # one price for the whole cross, as at the open
    assert not d.core.books[CALL].crossed()


def test_the_simulated_flow_pauses_with_the_halt_and_the_model_goes_on() -> None:
    d = Driver(house={"enabled": False}, retail={"enabled": False}, phase="closed")
    d.market.sim_teams = (
        SimTeam(team_id="TEAM_HOUSE", team_name="house", role="market_maker",
                exempt_from_limits=True),
        SimTeam(team_id="TEAM_RETAIL_1", team_name="retail-1", role="retail"),
    )  # fmt: skip
    d.run(StartSession(session_id="s", seed=1, config="{}", config_hash="h"))
    d.run(ChangePhase(phase="continuous"))
    d.run(SetTrading(halted=True))
    d.market.quotes = [SimQuote(team_id="TEAM_HOUSE", instrument_id=CALL, bid_price=2400,
                                bid_size=5, ask_price=2600, ask_size=5)]  # fmt: skip
    d.market.orders = [SimOrder(team_id="TEAM_RETAIL_1", instrument_id=CALL, side="buy",
                                quantity=1, order_type="market")]  # fmt: skip
    events = d.run(ClockTick())
    assert d.core.tick_number == 1  # the clock is not the halt's business
    assert not [e for e in events if isinstance(e, OrderAccepted | OrderRejected)]


def test_the_closing_bell_closes_stops_the_clock_and_records_the_final_seq() -> None:
    d = Driver()
    a = d.team("alpha")
    d.order(a, "buy", 2, 2400)
    events = d.run(EndCompetition(request_id="bell"))
    assert [type(e) for e in events] == [PhaseChanged, OrderCancelled, CompetitionEnded]
    bell = events[-1]
    assert isinstance(bell, CompetitionEnded)
    assert (bell.final_seq, bell.request_id) == (bell.seq, "bell")
    assert bell.seq == d.seq  # the last record of the command: nothing scores after it
    assert isinstance(events[1], OrderCancelled)
    assert events[1].reason == "market_close"
    assert (d.core.phase, d.core.clock_running, d.core.ended_seq) == ("closed", False, bell.seq)


def test_after_the_bell_orders_phases_registrations_and_a_second_bell_are_refused() -> None:
    d = Driver()
    a = d.team("alpha")
    d.run(EndCompetition())
    assert codes(d.order(a, "buy", 1, 2400)) == ["COMPETITION_ENDED"]
    assert codes(d.run(ChangePhase(phase="continuous"))) == ["COMPETITION_ENDED"]
    assert d.core.phase == "closed"
    late = RegisterTeam(team_name="late", role="retail", api_key_hash="h")
    assert codes(d.run(late)) == ["COMPETITION_ENDED"]
    assert codes(d.run(EndCompetition())) == ["COMPETITION_ENDED"]
    # a later resume changes nothing of it: still refused, with the bell's code
    d.run(SetTrading(halted=False))
    d.run(SetClock(running=True))
    assert codes(d.order(a, "buy", 1, 2400)) == ["COMPETITION_ENDED"]


def test_a_bell_while_halted_still_ends_with_the_bells_code() -> None:
    d = Driver()
    a = d.team("alpha")
    d.run(SetTrading(halted=True))
    d.run(EndCompetition())
    assert codes(d.order(a, "buy", 1, 2400)) == ["COMPETITION_ENDED"]


def test_a_disabled_team_is_enabled_again() -> None:
    d = Driver()
    a, b = d.team("alpha"), d.team("bravo")
    d.order(a, "buy", 2, 2400)
    disabled = d.run(DisableTeam(team_id=a))
    assert [type(e) for e in disabled] == [AdminApplied, OrderCancelled]
    assert codes(d.order(a, "buy", 1, 2400)) == ["TEAM_NOT_FOUND"]
    [enabled] = d.run(EnableTeam(team_id=a, request_id="r"))
    assert isinstance(enabled, AdminApplied)
    assert (enabled.action, enabled.team_id, enabled.request_id) == ("enable_team", a, "r")
    d.order(a, "buy", 1, 2400)
    trades = [e for e in d.order(b, "sell", 1, None) if isinstance(e, Trade)]
    assert [t.maker_team_id for t in trades] == [a]
    assert codes(d.run(EnableTeam(team_id="TEAM_9999"))) == ["TEAM_NOT_FOUND"]
