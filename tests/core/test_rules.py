"""Every rejection code of SPEC, and the rules behind them: limits, roles, rate, phases."""

from __future__ import annotations

import pytest

from engine.records import (
    CancelAll,
    CancelOrder,
    ChangePhase,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    RegisterTeam,
    SubmitOrder,
    SubmitQuote,
    TeamRegistered,
    Trade,
)
from tests.core.fakes import Driver

CALL = "SPX_4400_CALL"


def bots_only(phase: str = "continuous") -> Driver:
    return Driver(phase=phase, house={"enabled": False}, retail={"enabled": False})


def rejection(events: list[Event]) -> OrderRejected:
    [event] = events
    assert isinstance(event, OrderRejected), event
    return event


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"instrument_id": "SPX_9999_CALL"}, "INVALID_INSTRUMENT"),
        ({"side": "hold"}, "INVALID_SIDE"),
        ({"quantity": 0}, "INVALID_QUANTITY"),
        ({"quantity": -1}, "INVALID_QUANTITY"),
        ({"quantity": 501}, "INVALID_QUANTITY"),  # hedge fund max order size 500
        ({"price": None}, "MISSING_PRICE"),
        ({"price": 0}, "INVALID_PRICE"),
        ({"price": -5}, "INVALID_PRICE"),
        ({"price": 10**12}, "INVALID_PRICE"),
        ({"order_type": "stop"}, "ORDER_TYPE_NOT_ALLOWED"),
        ({"team_id": "TEAM_9999"}, "TEAM_NOT_FOUND"),
    ],
)
def test_field_rejections(fields: dict[str, object], code: str) -> None:
    d = bots_only()
    team = d.team("fund")
    base: dict[str, object] = {
        "team_id": team,
        "instrument_id": CALL,
        "side": "buy",
        "quantity": 5,
        "order_type": "limit",
        "price": 2500,
    }
    event = rejection(d.run(SubmitOrder(**{**base, **fields})))  # type: ignore[arg-type]
    assert event.code == code
    assert event.command == "submit_order"
    assert not d.core.orders


def test_a_quote_from_a_non_maker_is_order_type_not_allowed() -> None:
    d = bots_only()
    fund = d.team("fund", "hedge_fund")
    quote = SubmitQuote(
        team_id=fund, instrument_id=CALL, bid_price=2500, bid_size=1, ask_price=2510, ask_size=1
    )
    event = rejection(d.run(quote))
    assert event.code == "ORDER_TYPE_NOT_ALLOWED"
    assert event.details["role"] == "hedge_fund"


def test_position_limit_is_worst_case_with_resting_orders() -> None:
    d = bots_only()
    mm = d.team("maker", "market_maker")  # +-50 per option
    d.order(mm, "buy", 30, 2400)
    d.order(mm, "buy", 20, 2300)
    event = rejection(d.order(mm, "buy", 1, 2200))
    assert event.code == "POSITION_LIMIT_EXCEEDED"
    assert event.details["resting"] == 50
    assert event.details["limit"] == 50
    assert event.details["worst_case"] == 51
    # the other side is its own worst case: a sell of 50 is fine
    assert isinstance(d.order(mm, "sell", 50, 2600)[0], OrderAccepted)


def test_position_limit_counts_the_current_position() -> None:
    d = bots_only()
    mm, other = d.team("maker", "market_maker"), d.team("other", "arbitrage")
    d.order(other, "sell", 45, 2500)
    d.order(mm, "buy", 45, 2500)
    assert d.core.teams[mm].positions[CALL] == 45
    event = rejection(d.order(mm, "buy", 6, 2500))
    assert event.details["current_position"] == 45


def test_the_underlying_limit_applies_to_spx_and_spy() -> None:
    d = bots_only()
    fund = d.team("fund", "hedge_fund")  # +-150 options, +-200 underlying
    assert isinstance(d.order(fund, "buy", 200, 100, iid="SPY")[0], OrderAccepted)
    assert rejection(d.order(fund, "buy", 1, 100, iid="SPY")).code == "POSITION_LIMIT_EXCEEDED"
    assert isinstance(d.order(fund, "buy", 150, 100, iid="SPX_4600_CALL")[0], OrderAccepted)
    assert (
        rejection(d.order(fund, "buy", 1, 100, iid="SPX_4600_CALL")).code
        == "POSITION_LIMIT_EXCEEDED"
    )


def test_the_total_limit_sums_worst_cases_across_instruments() -> None:
    d = bots_only()
    mm = d.team("maker", "market_maker")  # total 200
    for iid in ("SPX_4200_CALL", "SPX_4300_CALL", "SPX_4400_CALL", "SPX_4500_CALL"):
        assert isinstance(d.order(mm, "buy", 50, 100, iid=iid)[0], OrderAccepted)
    event = rejection(d.order(mm, "buy", 1, 100, iid="SPX_4600_CALL"))
    assert event.code == "POSITION_LIMIT_EXCEEDED"
    assert event.details["scope"] == "total"
    assert event.details["limit"] == 200


def test_retail_has_only_a_total_limit() -> None:
    d = bots_only()
    retail = d.team("punter", "retail")
    d.run(ChangePhase(phase="continuous"))
    assert isinstance(d.order(retail, "buy", 50, 100, advance=2)[0], OrderAccepted)
    assert (
        rejection(d.order(retail, "buy", 1, 100, iid="SPY_420_PUT", advance=2)).code
        == "POSITION_LIMIT_EXCEEDED"
    )


def test_the_hedge_fund_never_rests_both_sides() -> None:
    d = bots_only()
    fund = d.team("fund", "hedge_fund")
    d.order(fund, "buy", 5, 2400)
    event = rejection(d.order(fund, "sell", 5, 2600))
    assert event.code == "ORDER_TYPE_NOT_ALLOWED"
    assert event.details["resting_side"] == "buy"
    assert isinstance(d.order(fund, "sell", 5, 2600, iid="SPX_4500_CALL")[0], OrderAccepted)
    arb = d.team("arb", "arbitrage")  # other roles may
    d.order(arb, "buy", 5, 2300)
    assert isinstance(d.order(arb, "sell", 5, 2700)[0], OrderAccepted)


def test_rate_limit_on_sequencer_time_with_retry_after() -> None:
    d = bots_only()
    fund = d.team("fund", "hedge_fund")  # 5 orders per second
    for _ in range(5):
        assert isinstance(d.order(fund, "buy", 1, 100, advance=0.1)[0], OrderAccepted)
    event = rejection(d.order(fund, "buy", 1, 100, advance=0.1))
    assert event.code == "RATE_LIMIT_EXCEEDED"
    assert event.details["remaining"] == 0
    assert 0 < float(event.details["retry_after"]) <= 1.0  # type: ignore[arg-type]
    # a second after the first order, there is room again
    assert isinstance(d.order(fund, "buy", 1, 100, advance=0.6)[0], OrderAccepted)


def test_cancel_of_another_teams_order_is_not_found() -> None:
    d = bots_only()
    a, b = d.team("alpha"), d.team("bravo")
    order = d.order_id(d.order(a, "buy", 1, 100))
    event = rejection(d.run(CancelOrder(team_id=b, order_id=order)))
    assert event.code == "ORDER_NOT_FOUND"
    assert order in d.core.orders
    assert (
        rejection(d.run(CancelOrder(team_id=a, order_id="ORD_99999999"))).code == "ORDER_NOT_FOUND"
    )
    [cancelled] = d.run(CancelOrder(team_id=a, order_id=order))
    assert isinstance(cancelled, OrderCancelled)
    assert (cancelled.reason, cancelled.cancelled_quantity) == ("user", 1)


def test_cancel_all_optionally_by_instrument() -> None:
    d = bots_only()
    a = d.team("alpha", "arbitrage")
    for iid in (CALL, CALL, "SPY"):
        d.order(a, "buy", 1, 100, iid=iid)
    spy_only = d.run(CancelAll(team_id=a, instrument_id="SPY"))
    assert [e.instrument_id for e in spy_only if isinstance(e, OrderCancelled)] == ["SPY"]
    rest = d.run(CancelAll(team_id=a))
    assert [e.reason for e in rest if isinstance(e, OrderCancelled)] == ["cancel_all", "cancel_all"]
    assert not d.core.orders


def test_team_names_are_unique_and_validated() -> None:
    d = bots_only()
    d.team("Alpha Desk")
    for name, code in (
        ("alpha desk", "TEAM_NAME_TAKEN"),
        ("ab", "INVALID_TEAM_NAME"),
        ("x" * 51, "INVALID_TEAM_NAME"),
        ("tab\there", "INVALID_TEAM_NAME"),
    ):
        assert (
            rejection(d.run(RegisterTeam(team_name=name, role="retail", api_key_hash="k"))).code
            == code
        )
    assert (
        rejection(d.run(RegisterTeam(team_name="kingdom", role="king", api_key_hash="k"))).code
        == "INVALID_ROLE"
    )
    [ok] = d.run(RegisterTeam(team_name="Équipe 東京", role="retail", api_key_hash="k"))
    assert isinstance(ok, TeamRegistered)
    assert ok.api_key_hash == "k"  # the key itself never reaches the core


def test_a_repeated_client_order_id_restates_the_live_order() -> None:
    d = bots_only()
    a = d.team("alpha")
    first = d.order(a, "buy", 3, 100, client_order_id="mine")
    again = d.order(a, "buy", 9, 200, client_order_id="mine")
    [restated] = again
    assert isinstance(restated, OrderAccepted)
    assert restated.duplicate
    assert (restated.order_id, restated.quantity, restated.price) == (d.order_id(first), 3, 100)
    assert len(d.core.orders) == 1
    other = d.team("bravo")  # another team's id space is its own
    assert not d.order(other, "buy", 1, 100, client_order_id="mine")[0].duplicate  # type: ignore[attr-defined]
    d.run(CancelAll(team_id=a))
    reused = d.order(a, "buy", 1, 100, client_order_id="mine")
    assert not reused[0].duplicate  # type: ignore[attr-defined]
    assert d.order_id(reused) != d.order_id(first)


@pytest.mark.parametrize("phase", ["closed", "opening_auction"])
def test_no_submit_or_cancel_outside_trading(phase: str) -> None:
    d = bots_only("pre_open")
    a = d.team("alpha")
    order = d.order_id(d.order(a, "buy", 1, 100))
    d.run(ChangePhase(phase=phase))
    assert rejection(d.order(a, "buy", 1, 100)).code == "MARKET_CLOSED"
    if phase == "opening_auction":
        assert rejection(d.run(CancelOrder(team_id=a, order_id=order))).code == "MARKET_CLOSED"


def test_pre_open_rests_crossed_orders_without_matching_and_refuses_market_orders() -> None:
    d = bots_only("pre_open")
    a, b = d.team("alpha"), d.team("bravo")
    d.order(a, "buy", 5, 2600)
    assert not [e for e in d.order(b, "sell", 5, 2500) if isinstance(e, Trade)]
    assert d.core.books[CALL].crossed()
    assert rejection(d.order(b, "sell", 1, None)).code == "MARKET_CLOSED"


def test_close_cancels_every_resting_order() -> None:
    d = bots_only()
    a, b = d.team("alpha"), d.team("bravo")
    d.order(a, "buy", 5, 2400)
    d.order(b, "sell", 5, 2600, iid="SPY")
    events = d.run(ChangePhase(phase="closed"))
    cancels = [e for e in events if isinstance(e, OrderCancelled)]
    assert [(c.team_id, c.reason) for c in cancels] == [(a, "market_close"), (b, "market_close")]
    assert not d.core.orders
    assert all(not book.bids.prices and not book.asks.prices for book in d.core.books.values())


def test_the_largest_order_a_role_may_send_is_accepted() -> None:
    roles = {"hedge_fund": {"limit_per_option": 1000, "total_limit": 1000}}
    d = Driver(roles=roles, house={"enabled": False}, retail={"enabled": False})
    fund = d.team("fund", "hedge_fund")  # max order size 500
    assert isinstance(d.order(fund, "buy", 500, 100)[0], OrderAccepted)


def test_one_resting_contract_on_the_other_side_is_enough_to_refuse() -> None:
    d = bots_only()
    fund = d.team("fund", "hedge_fund")
    d.order(fund, "sell", 1, 2600)
    assert rejection(d.order(fund, "buy", 1, 2400)).code == "ORDER_TYPE_NOT_ALLOWED"


def test_a_quote_needs_its_bid_below_its_ask() -> None:
    d = bots_only()
    mm = d.team("maker", "market_maker")
    quote = SubmitQuote(
        team_id=mm, instrument_id=CALL, bid_price=2500, bid_size=1, ask_price=2500, ask_size=1
    )
    event = rejection(d.run(quote))
    assert event.code == "INVALID_PRICE"
    assert event.details == {"bid_cents": 2500, "ask_cents": 2500}


def test_the_rate_window_is_exactly_one_second() -> None:
    d = bots_only()
    fund = d.team("fund", "hedge_fund")  # 5 orders per second
    for _ in range(5):
        assert isinstance(d.order(fund, "buy", 1, 100, advance=0.1)[0], OrderAccepted)
    # the first was sent 0.4 s before the fifth: 0.6 s later it is exactly a second old
    assert isinstance(d.order(fund, "buy", 1, 100, advance=0.6)[0], OrderAccepted)


def test_the_mark_is_the_mid_rounded_down_to_a_cent() -> None:
    d = bots_only()
    arb = d.team("arb", "arbitrage")
    d.order(arb, "buy", 1, 2500)
    d.order(arb, "sell", 1, 2501)
    assert d.core.mark(CALL) == 2500
