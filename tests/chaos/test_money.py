"""Money cannot be moved or farmed (issue 13, attacks 2, 3 and 5), with real processes.

The $10M transfer: one team sells 1 SPX_4600_CALL at 99,999.99 (fair a few dollars),
a second team buys at the same price; with the price band (on by default) the sell is
refused ``INVALID_PRICE`` / ``out_of_band``, the buy trades nothing, and nobody's cash
moves. A market maker trading with itself earns nothing: 13 round trips of 50 contracts
at a price inside the band are fills marked ``self_trade`` with no fee and no rebate.
Registration closed or full is refused with its code, and nothing reaches the log.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.records import OrderAccepted, OrderRejected, RegisterTeam, TeamRegistered, Trade
from tests.chaos.quiet import Quiet, quiet_cluster

MAX_TEAMS = 5
CONFIG = f"""
[teams]
max_teams = {MAX_TEAMS}
[roles.market_maker]
orders_per_second = 1000
"""
ABSURD = 99_999.99


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quiet]:
    with quiet_cluster(tmp_path_factory.mktemp("money"), CONFIG) as q:
        yield q


def positions(quiet: Quiet, key: str) -> dict[str, object]:
    with quiet.client(key) as c:
        data: dict[str, object] = c.get("/positions").json()["data"]
    return data


def test_the_ten_million_dollar_transfer_is_refused(quiet: Quiet) -> None:
    seller, buyer = (
        quiet.team("transfer-from", "hedge_fund"),
        quiet.team("transfer-to", "hedge_fund"),
    )
    fair = quiet.fair("SPX_4600_CALL")
    assert fair < 1000  # ~ a few dollars at the default market's start
    head = quiet.head()
    order = {"instrument_id": "SPX_4600_CALL", "quantity": 1, "price": ABSURD}
    with quiet.client(buyer["api_key"]) as c:  # the accomplice's bid first, then the sell
        bid = c.post("/orders", json={**order, "side": "buy"})
    with quiet.client(seller["api_key"]) as c:
        sell = c.post("/orders", json={**order, "side": "sell"})
    assert sell.status_code == 422, sell.text
    error = sell.json()["error"]
    assert error["code"] == "INVALID_PRICE"
    assert error["details"]["reason"] == "out_of_band"
    assert error["details"]["min"] <= fair <= error["details"]["max"] < ABSURD
    # a buy beyond the band on its marketable side takes what rests inside it (nothing)
    # and never rests at the absurd price, so no later sell can meet it
    assert bid.status_code == 200, bid.text
    assert bid.json()["data"]["status"] != "open"
    new = quiet.records(head)
    assert not [r for r in new if isinstance(r, Trade)]
    rejected = [r for r in new if isinstance(r, OrderRejected)]
    assert [(r.code, r.details["reason"]) for r in rejected] == [("INVALID_PRICE", "out_of_band")]
    for team in (seller, buyer):
        assert positions(quiet, team["api_key"])["cash"] == 0
        assert positions(quiet, team["api_key"])["positions"] in ({}, {"SPX_4600_CALL": 0})


def test_self_trade_round_trips_earn_a_market_maker_nothing(quiet: Quiet) -> None:
    mm = quiet.team("self-dealer", "market_maker")
    price = round(quiet.fair("SPY_440_CALL"), 2)
    head = quiet.head()
    fills = []
    with quiet.client(mm["api_key"]) as c:
        for n in range(13):
            for side in ("sell", "buy"):  # rests, then takes its own resting order
                r = c.post(
                    "/orders",
                    json={"instrument_id": "SPY_440_CALL", "side": side, "quantity": 50,
                          "price": price, "client_order_id": f"self-{n}-{side}"},
                )  # fmt: skip
                assert r.status_code == 200, r.text
                fills += r.json()["data"]["fills"]
        events = c.get("/events", params={"after_seq": 0, "limit": 2000}).json()["data"]
    # the team sees it too: every fill, in the answer and on the stream, says so
    assert len(fills) == 13
    assert all(f["self_trade"] is True and f["fees"] == 0 for f in fills)
    reports = [m["data"] for m in events["messages"] if m["type"] == "execution_report"]
    assert len(reports) == 26  # a maker's and a taker's report per trade
    assert all(m["self_trade"] is True and m["fees"] == 0 for m in reports)
    trades = [r for r in quiet.records(head) if isinstance(r, Trade)]
    assert len(trades) == 13
    assert sum(t.quantity for t in trades) == 13 * 50
    assert all(t.self_trade for t in trades)
    assert all(t.maker_team_id == t.taker_team_id == mm["team_id"] for t in trades)
    assert {(t.maker_fee, t.taker_fee) for t in trades} == {(0, 0)}
    book = positions(quiet, mm["api_key"])
    assert (book["fees"], book["cash"]) == (0, 0)  # the rebate farm earned nothing


def test_registration_closed_and_full_are_refused_and_nothing_is_sequenced(quiet: Quiet) -> None:
    head = quiet.head()
    assert quiet.admin("registration/close").status_code == 200
    closed_at = quiet.head()
    before = quiet.log_bytes()
    for n in range(20):  # without a key, no team's budget bounds these
        r = quiet.register(f"late-{n}", "hedge_fund")
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "REGISTRATION_CLOSED"
    assert quiet.log_bytes() == before  # answered by the gateway, from its projection
    assert quiet.admin("registration/open").status_code == 200
    registered = len([r for r in quiet.records() if isinstance(r, TeamRegistered)])
    for n in range(registered, MAX_TEAMS):
        quiet.team(f"filler-{n}", "retail")
    before = quiet.log_bytes()
    r = quiet.register("one-too-many", "hedge_fund")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "MAX_TEAMS_REACHED"
    assert r.json()["error"]["details"]["max_teams"] == MAX_TEAMS
    assert quiet.log_bytes() == before
    names = {r.team_name for r in quiet.records(head) if isinstance(r, RegisterTeam)}
    assert not any(n.startswith("late-") or n == "one-too-many" for n in names)
    assert quiet.head() > closed_at  # the reopening and the fillers were sequenced
    assert not [r for r in quiet.records(closed_at) if isinstance(r, OrderAccepted)]
