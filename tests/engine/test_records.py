"""Records round-trip, and a log written today stays readable when fields are added."""

from __future__ import annotations

import typing

import msgspec

from engine import records as r

SAMPLES: list[r.Record] = [
    r.StartSession(seq=1, ts=1, session_id="s", seed=7, config="{}", config_hash="h"),
    r.RegisterTeam(seq=2, ts=2, team_name="abc", role="hedge_fund", api_key_hash="x"),
    r.SubmitOrder(
        seq=3, ts=3, team_id="T", instrument_id="SPX", side="buy", quantity=1, order_type="market"
    ),
    r.SubmitQuote(
        seq=4,
        ts=4,
        team_id="T",
        instrument_id="SPX",
        bid_price=1,
        bid_size=1,
        ask_price=2,
        ask_size=1,
    ),
    r.CancelOrder(seq=5, ts=5, team_id="T", order_id="O"),
    r.CancelAll(seq=6, ts=6, team_id="T"),
    r.ClockTick(seq=7, ts=7),
    r.ChangePhase(seq=8, ts=8, phase="continuous"),
    r.EngineStarted(seq=9, ts=9, recovered_seq=8),
    r.OrderRejected(
        seq=10, ts=10, team_id="T", code="INVALID_PRICE", message="m", details={"limit": 5}
    ),
    r.Trade(
        seq=11,
        ts=11,
        trade_id="TR",
        instrument_id="SPX",
        price=5,
        quantity=1,
        maker_order_id="A",
        maker_team_id="T",
        maker_side="buy",
        maker_fee=2,
        maker_remaining=0,
        taker_order_id="B",
        taker_team_id="U",
        taker_fee=-2,
        taker_remaining=0,
    ),
    r.TickStarted(seq=12, ts=12, tick_number=1, phase="continuous", digest="d"),
    r.MarketData(
        seq=13, ts=13, instrument_id="SPX", bid=1, ask=2, last=None, bid_size=1, ask_size=1
    ),
]


def test_every_sample_round_trips() -> None:
    for record in SAMPLES:
        assert r.decode(r.encode(record)) == record


def test_every_record_type_has_a_distinct_tag() -> None:
    tags = [t.__struct_config__.tag for t in typing.get_args(r.AnyRecord)]
    assert len(tags) == len(set(tags))


def test_an_old_record_without_new_trailing_fields_still_decodes() -> None:
    # an OrderAccepted written before `quote` and `duplicate` existed
    old = msgspec.msgpack.encode(
        ["order_accepted", 5, 6, "ORD_1", "T", "SPX", "buy", "limit", 3, 100, None, None]
    )
    record = r.decode(old)
    assert isinstance(record, r.OrderAccepted)
    assert (record.quote, record.duplicate, record.price) == (False, False, 100)


def test_stamp_sets_seq_and_time_without_touching_the_original() -> None:
    tick = r.ClockTick()
    stamped = r.stamp(tick, 9, 10)
    assert (stamped.seq, stamped.ts, tick.seq) == (9, 10, 0)
