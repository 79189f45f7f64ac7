"""The pure projection: records in, messages out (golden), seqs, audiences, state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.records import OrderAccepted
from gateway.projection.fold import ALL, Audience, Delivery, Projection, Role, Team
from gateway.projection.messages import iso_timestamp, stream_frame
from tests.gateway.builders import Log, busy_log, key_hash

GOLDEN = Path(__file__).with_name("golden") / "busy_log.txt"


def run(log: Log) -> tuple[Projection, list[Delivery]]:
    projection = Projection()
    out: list[Delivery] = []
    for record in log.records:
        out.extend(projection.step(record))
    return projection, out


def lines(deliveries: list[Delivery]) -> list[str]:
    return [f"{d.team_id} {stream_frame(d.seq, d.body).decode()}" for d in deliveries]


def messages(deliveries: list[Delivery], team: str) -> list[dict[str, Any]]:
    return [json.loads(stream_frame(d.seq, d.body)) for d in deliveries if d.team_id == team]


def test_golden_busy_session() -> None:
    _, out = run(busy_log())
    assert lines(out) == GOLDEN.read_text().splitlines()


def test_every_message_has_the_envelope_and_valid_json() -> None:
    _, out = run(busy_log())
    for d in out:
        msg = json.loads(stream_frame(d.seq, d.body))
        assert list(msg) == ["seq", "type", "timestamp", "data"]
        assert msg["timestamp"].endswith("Z")


def test_exact_shapes_of_each_message_type() -> None:
    _, out = run(busy_log())
    keys: dict[str, list[str]] = {}
    for d in out:
        msg = json.loads(stream_frame(d.seq, d.body))
        kind = msg["type"] + (
            "/" + msg["data"].get("event_type", msg["data"].get("signal_type", ""))
        )
        keys.setdefault(kind.rstrip("/"), list(msg["data"]))
    assert keys == {
        "position_snapshot": ["team_id", "role", "positions", "cash", "fees", "pnl",
                              "open_orders", "tick_number", "phase"],
        "event/phase_changed": ["event_type", "phase", "previous"],
        "tick_start": ["tick_number", "phase"],
        "market_data": ["instrument_id", "bid", "ask", "last", "bid_size", "ask_size", "fair"],
        "new_order_ack": ["order_id", "client_order_id", "instrument_id", "side", "order_type",
                          "quantity", "price", "status", "quote"],
        "execution_report": ["order_id", "client_order_id", "trade_id", "instrument_id", "side",
                             "executed_quantity", "executed_price", "remaining_quantity",
                             "order_status", "liquidity_type", "fees"],
        "event/news": ["event_type", "headline", "impact", "tick_number",
                       "regime_shift_probability", "price_jump_probability"],
        "signal/volatility_forecast": ["signal_type", "forecast", "confidence", "current_regime",
                                       "ticks_until_change", "horizon_minutes", "tick_number"],
        "signal/tracking_error": ["signal_type", "tracking_error", "tracking_error_bps",
                                  "direction", "z_score", "spx_price", "spy_price",
                                  "theoretical_spy", "tick_number"],
        "order_cancelled": ["order_id", "client_order_id", "instrument_id", "side",
                            "cancelled_quantity", "reason", "status"],
    }  # fmt: skip


def test_a_new_team_starts_with_an_empty_snapshot_at_seq_1() -> None:
    _, out = run(busy_log())
    for team in ("T1", "T2", "T3"):
        first = messages(out, team)[0]
        assert first["seq"] == 1
        assert first["type"] == "position_snapshot"
        assert first["data"]["positions"] == {}


def test_per_team_seqs_are_contiguous() -> None:
    _, out = run(busy_log())
    for team in ("T1", "T2", "T3"):
        seqs = [m["seq"] for m in messages(out, team)]
        assert seqs == list(range(1, len(seqs) + 1))


def test_signals_reach_only_their_role() -> None:
    _, out = run(busy_log())
    signals = {t: [m["data"]["signal_type"] for m in messages(out, t) if m["type"] == "signal"]
               for t in ("T1", "T2", "T3")}  # fmt: skip
    assert signals == {"T1": [], "T2": ["volatility_forecast"], "T3": ["tracking_error"]}


def test_a_rejection_produces_no_message() -> None:
    log = Log()
    log.start()
    log.team("T1", "retail")
    projection = Projection()
    for record in log.records:
        projection.step(record)
    log.reject("T1")
    assert projection.apply(log.records[-1]) == []
    assert projection.orders_rejected == 1


def test_a_duplicate_acceptance_produces_no_message() -> None:
    log = Log()
    log.start()
    log.team("T1", "retail")
    log.order("O1", "T1", "buy", 1, 100, client_order_id="c")
    log.order("O1", "T1", "buy", 1, 100, client_order_id="c", duplicate=True)
    _, out = run(log)
    assert [m["type"] for m in messages(out, "T1")] == ["position_snapshot", "new_order_ack"]


def test_audiences() -> None:
    log = busy_log()
    projection = Projection()
    audiences: list[Audience] = []
    for record in log.records:
        audiences.extend(a for a, _ in projection.apply(record))
    assert Team("T1") in audiences
    assert ALL in audiences
    assert Role("hedge_fund") in audiences
    assert Role("arbitrage") in audiences


def test_two_projections_over_the_same_records_agree() -> None:
    a, out_a = run(busy_log())
    b, out_b = run(busy_log())
    assert out_a == out_b
    assert a.positions_view("T1") == b.positions_view("T1")


def test_refolding_a_record_is_a_no_op() -> None:
    log = busy_log()
    projection, _ = run(log)
    assert all(projection.step(r) == [] for r in log.records)


def test_state_after_the_busy_session() -> None:
    projection, _ = run(busy_log())
    t1 = projection.positions_view("T1")
    # sold 4 + 3 @ 121.00 x100, fees +0.08 +0.06
    assert t1["positions"] == {"SPX_4400_CALL": -7}
    assert t1["cash"] == 7 * 12_100 + 0.14
    assert t1["fees"] == 0.14
    assert projection.positions_view("T2")["positions"] == {"SPX_4400_CALL": 4}
    assert projection.positions_view("T3")["positions"] == {"SPX_4400_CALL": 3}
    assert projection.open_orders("T1") == {"orders": []}
    assert projection.orders == {}
    book = projection.book_view("SPX_4400_CALL")
    assert book["bids"] == book["asks"] == []
    assert book["last"] == 121.0


def test_book_is_aggregated_and_top_5() -> None:
    log = Log()
    log.start()
    log.team("T1", "market_maker")
    for i in range(7):
        log.order(f"B{i}", "T1", "buy", 1 + i, 10_000 + 100 * (i % 5))
        log.order(f"S{i}", "T1", "sell", 2, 20_000 + 100 * i)
    projection, _ = run(log)
    book = projection.book_view("SPX_4400_CALL")
    assert [lv["price"] for lv in book["bids"]] == [104.0, 103.0, 102.0, 101.0, 100.0]
    assert book["bids"][3] == {"price": 101.0, "quantity": 2 + 7, "orders": 2}
    assert [lv["price"] for lv in book["asks"]] == [200.0, 201.0, 202.0, 203.0, 204.0]
    assert len(projection.open_orders("T1")["orders"]) == 14
    assert len(projection.open_orders("T1", "SPY")["orders"]) == 0


def test_keys_are_found_by_hash_only() -> None:
    projection, _ = run(busy_log())
    team = projection.team_for_key_hash(key_hash("T2"))
    assert team is not None
    assert team.team_id == "T2"
    assert projection.team_for_key_hash("T2") is None


def test_simulated_teams_have_no_stream() -> None:
    log = Log()
    log.start()
    log.team("T1", "retail")
    log.add(OrderAccepted(order_id="H1", team_id="HOUSE", instrument_id="SPY", side="sell",
                          order_type="limit", quantity=5, price=44_000))  # fmt: skip
    log.order("O1", "T1", "buy", 1, None, instrument="SPY")
    log.trade("X", ("HOUSE", "H1", "sell", 4), ("T1", "O1", 0), 1, 44_000, instrument="SPY")
    projection, out = run(log)
    assert {d.team_id for d in out} == {"T1"}
    assert projection.positions_view("HOUSE")["positions"] == {"SPY": -1}


def test_timestamps_are_iso_utc_microseconds() -> None:
    assert iso_timestamp(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_timestamp(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456Z"
