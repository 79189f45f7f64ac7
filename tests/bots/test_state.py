"""The bot kit's state and message decoding on hand-made frames (no server needed)."""

from __future__ import annotations

import json

from tradepit.messages import Other, decode, peek
from tradepit.state import State


def frame(seq: int, kind: str, **data: object) -> bytes:
    return json.dumps({"seq": seq, "type": kind, "timestamp": "t", "data": data}).encode()


def test_state_follows_acks_fills_and_cancels() -> None:
    s = State()
    snapshot = frame(1, "position_snapshot", team_id="TEAM_0001", role="hedge_fund",
                     positions={"SPX": 2}, cash=-8800.0, fees=0.0, pnl=0.0, open_orders=[],
                     tick_number=4, phase="continuous")  # fmt: skip
    order = {"order_id": "ORD_1", "client_order_id": "c-1", "instrument_id": "SPX_4400_CALL",
             "side": "buy"}  # fmt: skip
    frames = [
        snapshot,
        frame(
            2,
            "new_order_ack",
            **order,
            order_type="limit",
            quantity=3,
            price=12.5,
            status="new",
            quote=False,
        ),
        frame(
            3,
            "execution_report",
            **order,
            trade_id="TRD_1",
            executed_quantity=2,
            executed_price=12.5,
            remaining_quantity=1,
            order_status="partially_filled",
            liquidity_type="maker",
            fees=0.02,
        ),
        frame(
            4,
            "market_data",
            instrument_id="SPX",
            bid=4399.0,
            ask=4401.0,
            last=None,
            bid_size=20,
            ask_size=20,
        ),
        frame(5, "tick_start", tick_number=5, phase="continuous"),
        frame(6, "order_cancelled", **order, cancelled_quantity=1, reason="user"),
        frame(7, "brand_new_type", anything=1),
    ]
    for raw in frames:
        s.apply(decode(raw))
    assert s.positions == {"SPX": 2, "SPX_4400_CALL": 2}
    assert s.cash == -8800.0 - 2 * 12.5 * 100 + 0.02  # options carry 100 a contract
    assert s.orders == {}
    assert s.mid("SPX") == 4400.0
    assert (s.tick, s.phase, s.last_seq) == (5, "continuous", 7)
    assert isinstance(decode(frames[-1]), Other)


def test_state_keeps_the_fair_value_market_data_carries() -> None:
    s = State()
    book = {"bid": 12.0, "ask": 12.2, "last": None, "bid_size": 20, "ask_size": 20}
    s.apply(decode(frame(1, "market_data", instrument_id="SPX_4400_CALL", **book, fair=12.1)))
    # a message re-made from a log recorded before the field: the last fair value stays
    s.apply(decode(frame(2, "market_data", instrument_id="SPX_4400_CALL", **book)))
    assert s.fair == {"SPX_4400_CALL": 12.1}
    assert s.market["SPX_4400_CALL"].fair is None


def test_a_heartbeat_has_no_seq() -> None:
    raw = b'{"type":"heartbeat","timestamp":"t","data":{"last_seq":41}}'
    assert peek(raw) == ("heartbeat", None, {"last_seq": 41})


def test_state_follows_the_organisers_halt_and_bell() -> None:
    s = State()
    for seq, event in enumerate(("trading_halted", "trading_resumed", "trading_halted"), 1):
        s.apply(decode(frame(seq, "event", event_type=event)))
    assert (s.halted, s.ended) == (True, False)
    s.apply(decode(frame(4, "event", event_type="competition_ended", final_seq=99)))
    assert s.ended


def test_the_organisers_refusals_are_market_closed() -> None:
    from tradepit.errors import MarketClosed, api_error

    for code in ("TRADING_HALTED", "COMPETITION_ENDED", "MARKET_CLOSED"):
        assert isinstance(api_error(code, "m", {}, 409), MarketClosed)
