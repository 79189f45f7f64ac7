"""The sweep grace: a market maker's good quote that the exchange's band sweep cancelled
(fair values jumped) keeps counting as covered for ``mm_sweep_grace_ticks`` KPI ticks
while the maker re-quotes; nothing else is relieved."""

from __future__ import annotations

import msgspec

from engine import config as configmod
from engine.records import CancelAll, ClockTick, OrderCancelled, StartSession, SubmitQuote
from gateway.scoring import Scorer
from tests.core.fakes import Driver

SWEPT = 5000  # the options' fair value after the jump: the band is 4000-6000


def _quote(d: Driver, team: str, iid: str, fair: int, size: int = 1) -> None:
    d.run(  # a fifth of a second apart: under the role's 10 a second
        SubmitQuote(
            team_id=team,
            instrument_id=iid,
            bid_price=fair - 50,
            bid_size=size,
            ask_price=fair + 50,
            ask_size=size,
        ),
        advance=0.2,
    )


def _coverage(grace: int | None = None) -> tuple[list[float], Driver]:
    """A maker covers all 22 instruments at fair 25.00; the options' fair values jump to
    50.00 (the band sweep pulls their 20 quotes); it re-quotes 8 of them at once."""
    d = Driver(house={"enabled": False}, retail={"enabled": False}, price_limits={})
    mm = d.team("maker", "market_maker")
    ids = list(d.core.instruments)
    for iid in ids:
        _quote(d, mm, iid, 2500)
    d.run(ClockTick())  # tick 1: 22 good quotes
    options = [iid for iid in ids if d.core.instruments[iid].is_option]
    for iid in options:
        d.market.fair_values[iid] = SWEPT
    swept = d.run(ClockTick())  # tick 2: sampled with 22, then the sweep
    assert sum(isinstance(e, OrderCancelled) and e.reason == "out_of_band" for e in swept) == 40
    for iid in options[:8]:
        _quote(d, mm, iid, SWEPT)
    for _ in range(3):
        d.run(ClockTick())  # ticks 3, 4, 5
    records = list(d.log)
    if grace is not None:
        config = configmod.load(None, scoring={"mm_sweep_grace_ticks": grace})
        start = records[0]
        assert isinstance(start, StartSession)
        records[0] = msgspec.structs.replace(start, config=configmod.canonical_json(config))
    scorer = Scorer()
    for record in records:
        scorer.apply(record)
    team = scorer.teams[mm]
    return list(team.series.coverage), d


def test_a_swept_good_quote_counts_for_the_grace_ticks_then_no_longer() -> None:
    coverage, _ = _coverage()  # the default: 2 ticks
    # ticks 1-5: 2 underlyings + 8 re-quoted = 10 real; 12 relieved at ticks 3 and 4
    assert [round(c * 22) for c in coverage] == [22, 22, 22, 22, 10]


def test_without_grace_the_sweep_costs_its_quotes_at_once() -> None:
    coverage, _ = _coverage(grace=0)
    assert [round(c * 22) for c in coverage] == [22, 22, 10, 10, 10]


def test_the_relieved_instrument_ticks_are_shown() -> None:
    coverage, d = _coverage(grace=1)
    assert [round(c * 22) for c in coverage] == [22, 22, 22, 10, 10]
    scorer = Scorer()
    for record in d.log:
        scorer.apply(record)
    [team] = scorer.teams.values()
    assert team.relieved == 12 + 12  # the default grace of 2 on the unpatched log


def test_a_through_band_order_cancelled_on_arrival_is_not_a_sweep() -> None:
    """Only a quote resting at the last sample, and counted good there, is relieved: a
    limit order priced through the band has its rest cancelled ``out_of_band`` on
    arrival, which is the team's doing, not the exchange's sweep."""
    d = Driver(house={"enabled": False}, retail={"enabled": False}, price_limits={})
    mm = d.team("maker", "market_maker")
    _quote(d, mm, "SPX_4400_CALL", 2500)
    d.run(ClockTick())  # tick 1: one good quote
    d.run(CancelAll(team_id=mm, instrument_id="SPX_4400_CALL"))
    events = d.order(mm, "buy", 1, 3500, "SPX_4400_CALL")  # above the band's 3000
    assert [e.reason for e in events if isinstance(e, OrderCancelled)] == ["out_of_band"]
    d.run(ClockTick())  # tick 2: nothing quoted, nothing relieved
    scorer = Scorer()
    for record in d.log:
        scorer.apply(record)
    [team] = scorer.teams.values()
    assert [round(c * 22) for c in team.series.coverage] == [1, 0]
    assert team.relieved == 0
