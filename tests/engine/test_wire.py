from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.records import OrderAccepted, SubmitOrder
from engine.wire import (
    MAX_FRAME,
    FrameError,
    FrameReader,
    Refused,
    Reply,
    Request,
    WireMessage,
    pack_frame,
)

ORDER = SubmitOrder(
    team_id="TEAM_0001",
    instrument_id="SPX",
    side="buy",
    quantity=3,
    order_type="limit",
    price=440_000,
)
ACK = OrderAccepted(
    seq=2,
    ts=5,
    order_id="ORD_1",
    team_id="TEAM_0001",
    instrument_id="SPX",
    side="buy",
    order_type="limit",
    quantity=3,
    price=440_000,
)
MESSAGES: list[WireMessage] = [
    Request(1, ORDER),
    Reply(1, 1, [ACK]),
    Refused(2, "SERVICE_UNAVAILABLE", "disk full", 1.0),
]


@given(st.lists(st.integers(min_value=1, max_value=50), max_size=20))
def test_frames_survive_any_chunking(cuts: list[int]) -> None:
    data = b"".join(pack_frame(m) for m in MESSAGES)
    reader, out, pos = FrameReader(), [], 0
    for cut in cuts:
        out += reader.feed(data[pos : pos + cut])
        pos += cut
    out += reader.feed(data[pos:])
    assert out == MESSAGES


@given(st.binary(max_size=200))
def test_garbage_is_a_frame_error_or_nothing(data: bytes) -> None:
    # like h11's fuzzer: either messages come out or a FrameError, never another exception
    try:
        out = FrameReader().feed(data)
    except FrameError:
        return
    assert all(isinstance(m, Request | Reply | Refused) for m in out)


def test_oversized_frame_is_refused_before_buffering() -> None:
    with pytest.raises(FrameError, match="exceeds"):
        FrameReader().feed((MAX_FRAME + 1).to_bytes(4, "big"))
