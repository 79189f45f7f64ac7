"""Batches as stream messages (pure): split under the payload limit, checked on decode."""

from __future__ import annotations

import pytest

from engine.log.errors import LogError
from engine.log.nats.messages import (
    COUNT,
    FIRST_SEQ,
    MSG_ID,
    Chunk,
    Names,
    StreamMismatch,
    decode,
    split,
)
from engine.records import EngineStarted, Record


def batch(first: int, n: int) -> list[Record]:
    return [EngineStarted(seq=first + i, ts=i, recovered_seq=i) for i in range(n)]


def test_a_batch_is_one_message_and_decodes_to_itself() -> None:
    records = batch(7, 64)
    (chunk,) = split(records, 1 << 20)
    assert (chunk.first, chunk.count) == (7, 64)
    headers = chunk.headers("s1", 41)
    assert headers[MSG_ID] == "s1:7"
    assert headers["Nats-Expected-Last-Sequence"] == "41"
    assert decode(chunk.payload, headers, 42, 7) == records


@pytest.mark.parametrize("n", [1, 15, 16, 65535, 65536, 70000])
def test_array_headers_of_every_size_decode(n: int) -> None:
    records = batch(1, n)
    chunks = split(records, 64 << 20)
    assert len(chunks) == 1
    assert decode(chunks[0].payload, chunks[0].headers("s", 0), 1, 1) == records


def test_a_batch_over_the_limit_is_split_into_contiguous_messages() -> None:
    records = batch(1, 50_000)
    chunks = split(records, 1 << 20)
    assert len(chunks) > 1
    assert all(len(c.payload) <= (1 << 20) - 1024 for c in chunks)
    expected, out = 1, []
    for stream_seq, chunk in enumerate(chunks, 1):
        out += decode(chunk.payload, chunk.headers("s", stream_seq - 1), stream_seq, expected)
        expected = chunk.last + 1
    assert out == records


def test_a_record_bigger_than_a_message_is_refused() -> None:
    with pytest.raises(LogError, match="more than a NATS message holds"):
        split(batch(1, 1), 1030)


def test_a_message_out_of_place_names_the_stream_seq_and_both_log_seqs() -> None:
    (chunk,) = split(batch(10, 3), 1 << 20)
    with pytest.raises(
        StreamMismatch, match="stream message 5 starts at log seq 10 where log seq 9"
    ):
        decode(chunk.payload, chunk.headers("s", 4), 5, 9)


def test_records_whose_seqs_disagree_with_the_header_are_refused() -> None:
    (chunk,) = split(batch(10, 3), 1 << 20)
    lying = Chunk(11, 3, chunk.payload).headers("s", 0)
    with pytest.raises(StreamMismatch, match="holds log seq 10 where log seq 11 was due"):
        decode(chunk.payload, lying, 1, 11)
    short = {**chunk.headers("s", 0), COUNT: "2"}
    with pytest.raises(StreamMismatch, match="holds 3 records, its header says 2"):
        decode(chunk.payload, short, 1, 10)


def test_a_message_that_is_not_ours_is_refused() -> None:
    with pytest.raises(StreamMismatch, match="not a tradepit batch"):
        decode(b"\x90", {"Other": "1"}, 3, None)
    with pytest.raises(StreamMismatch, match="undecodable"):
        decode(b"\xc1", {FIRST_SEQ: "1", COUNT: "1"}, 3, 1)


def test_session_names_must_fit_a_stream_name() -> None:
    names = Names("session-2026_1")
    assert names.stream == "TRADEPIT_session-2026_1"
    assert names.log_subject == "tradepit.session-2026_1.log"
    for bad in ("a.b", "a b", "a*", "", "x" * 65):
        with pytest.raises(LogError, match="cannot name a NATS stream"):
            Names(bad)
