"""Per-team history, resume by seq with no gap and no duplicate, bounded fan-out."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.projection.fold import Delivery
from gateway.service.streams import (
    SLOW_CONSUMER_REASON,
    RoleLog,
    SlowConsumer,
    SnapshotRequired,
    Streams,
    Subscription,
    TeamStream,
)


def deliveries(team: str, first: int, last: int) -> list[Delivery]:
    return [Delivery(team, s, b'"type":"x","timestamp":"t","data":{"n":%d}}' % s)
            for s in range(first, last + 1)]  # fmt: skip


async def blocks(sub: Subscription) -> bool:
    """Whether ``sub.next()`` waits (nothing to send yet); deterministic, no sleeping."""
    got: list[tuple[int, bytes]] = []
    async with trio.open_nursery() as nursery:

        async def read() -> None:
            got.append(await sub.next())

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    return not got


async def take(sub: Subscription, n: int) -> list[int]:
    seqs = []
    for _ in range(n):
        seq, message = await sub.next()
        assert json.loads(message) == {"seq": seq, "type": "x", "timestamp": "t",
                                       "data": {"n": seq}}  # fmt: skip
        seqs.append(seq)
    return seqs


@settings(max_examples=200, deadline=None)
@given(data=st.data())
async def test_resume_has_no_gap_and_no_duplicate_at_every_split(data: st.DataObject) -> None:
    total = data.draw(st.integers(0, 40), label="total")
    published = data.draw(st.integers(0, total), label="published before subscribing")
    after = data.draw(st.integers(0, published), label="last_seq")
    consumed = data.draw(st.integers(0, total - after), label="read before the rest arrives")
    streams = Streams(history=1000, queue_size=1000)
    streams.publish(deliveries("T", 1, published))
    sub = streams.subscribe("T", after)
    got: list[int] = []
    with trio.fail_after(5):
        got += await take(sub, min(consumed, published - after))
        streams.publish(deliveries("T", published + 1, total))
        got += await take(sub, total - after - len(got))
    assert got == list(range(after + 1, total + 1))
    assert await blocks(sub)


async def test_interleaved_publishing_and_reading() -> None:
    streams = Streams(history=1000, queue_size=1000)
    streams.publish(deliveries("T", 1, 5))
    sub = streams.subscribe("T", 2)
    got = await take(sub, 1)  # 3 from history
    streams.publish(deliveries("T", 6, 6))
    got += await take(sub, 2)  # 4, 5 from history
    streams.publish(deliveries("T", 7, 9))
    got += await take(sub, 4)  # 6 from history, then live
    assert got == [3, 4, 5, 6, 7, 8, 9]
    assert await blocks(sub)
    assert sub.live


async def test_streams_of_teams_are_independent() -> None:
    streams = Streams(history=10, queue_size=10)
    streams.publish(deliveries("A", 1, 3) + deliveries("B", 1, 2))
    assert await take(streams.subscribe("B", 0), 2) == [1, 2]
    assert streams.head("A") == 3
    assert streams.head("nobody") == 0


async def test_a_slow_consumer_is_cut_off_without_blocking_publish() -> None:
    streams = Streams(history=1000, queue_size=3)
    slow = streams.subscribe("T", 0)
    fast = streams.subscribe("T", 0)
    # both go live at the (empty) head
    assert await blocks(slow)
    streams.publish(deliveries("T", 1, 1))
    assert await take(fast, 1) == [1]
    streams.publish(deliveries("T", 2, 5))  # 4 messages into slow's buffer of 3
    assert slow.slow
    assert streams.slow_disconnects == 1
    assert await take(fast, 3) == [2, 3, 4]
    # it still gets what was buffered, then the reason
    assert await take(slow, 3) == [1, 2, 3]
    with pytest.raises(SlowConsumer, match=SLOW_CONSUMER_REASON):
        await slow.next()
    # and it resumes by seq
    again = streams.subscribe("T", 3)
    assert await take(again, 2) == [4, 5]


async def test_history_is_bounded_and_older_asks_need_a_snapshot() -> None:
    streams = Streams(history=5, queue_size=10)
    streams.publish(deliveries("T", 1, 12))
    assert streams.stream("T").first == 8
    with pytest.raises(SnapshotRequired):
        streams.subscribe("T", 6)
    assert await take(streams.subscribe("T", 7), 5) == [8, 9, 10, 11, 12]
    with pytest.raises(SnapshotRequired):
        streams.page("T", 0, 10)
    assert streams.page("T", 12, 10) == []


async def test_a_catching_up_reader_overtaken_by_eviction_needs_a_snapshot() -> None:
    streams = Streams(history=3, queue_size=10)
    streams.publish(deliveries("T", 1, 3))
    sub = streams.subscribe("T", 0)
    assert await take(sub, 1) == [1]
    streams.publish(deliveries("T", 4, 6))
    with pytest.raises(SnapshotRequired):
        await sub.next()


def test_pages_are_capped_and_start_after_the_given_seq() -> None:
    streams = Streams(history=100, queue_size=10)
    streams.publish(deliveries("T", 1, 10))
    page = streams.page("T", 3, 4)
    assert [json.loads(m)["seq"] for m in page] == [4, 5, 6, 7]
    assert streams.page("T", 10, 4) == []


def test_a_gap_in_deliveries_is_a_bug() -> None:
    streams = Streams(history=100, queue_size=10)
    with pytest.raises(ValueError, match="gap"):
        streams.publish(deliveries("T", 2, 2))


def seqs_of(frames: list[bytes]) -> list[int]:
    return [json.loads(frame)["seq"] for frame in frames]


async def test_take_returns_what_is_ready_without_waiting() -> None:
    streams = Streams(history=1000, queue_size=1000)
    streams.publish(deliveries("T", 1, 4))
    sub = streams.subscribe("T", 1)
    assert seqs_of(sub.take(1 << 20)) == [2, 3, 4]  # history, then live at the head
    assert sub.live
    assert sub.take(1 << 20) == []  # nothing new: an empty list, not a wait
    streams.publish(deliveries("T", 5, 9))
    first = sub.take(1)  # the byte budget is reached after one frame
    assert seqs_of(first) == [5]
    assert seqs_of(sub.take(1 << 20)) == [6, 7, 8, 9]
    assert sub.take(1 << 20) == []


async def test_take_gives_a_slow_consumer_its_buffer_then_the_reason() -> None:
    streams = Streams(history=1000, queue_size=2)
    sub = streams.subscribe("T", 0)
    assert sub.take(1 << 20) == []
    streams.publish(deliveries("T", 1, 3))  # 3 into a buffer of 2
    assert sub.slow
    assert seqs_of(sub.take(1 << 20)) == [1, 2]
    with pytest.raises(SlowConsumer, match=SLOW_CONSUMER_REASON):
        sub.take(1 << 20)
    assert seqs_of(await streams.subscribe("T", 2).next_batch(1 << 20)) == [3]


async def test_take_of_a_reader_overtaken_by_eviction_needs_a_snapshot() -> None:
    streams = Streams(history=3, queue_size=10)
    streams.publish(deliveries("T", 1, 3))
    sub = streams.subscribe("T", 0)
    assert seqs_of(sub.take(1)) == [1]
    streams.publish(deliveries("T", 4, 6))
    with pytest.raises(SnapshotRequired):
        sub.take(1 << 20)


def test_a_teams_own_messages_are_kept_within_their_bytes() -> None:
    """``[gateway] events_history_bytes``: a score_update a tick filled a team's history
    for the whole day (issue 38, item 5); older own messages are dropped by size, and
    everything from the first complete seq on still reads back in order."""
    log = RoleLog(1000)
    stream = TeamStream(log, 1000, max_bytes=100)
    for seq in range(1, 21):
        if seq % 4 == 0:
            log.append(b"b%d" % seq)  # a broadcast: the role's, not counted here
        else:
            stream.append(seq, b"x" * 30)
    assert stream.own_bytes <= 100
    assert stream.head == 20
    # own messages 17, 18, 19 kept (90 bytes): 15 dropped, 16 (a broadcast) on complete
    assert stream.first == 16
    assert [seq for seq, _ in stream.read(stream.first, 100)] == [16, 17, 18, 19, 20]
    with pytest.raises(SnapshotRequired):
        stream.read(15, 1)
    stream.append(21, b"y" * 500)  # one message over the budget alone is still kept
    assert stream.first == 20  # 17-19 dropped; 20, a broadcast, still reads
    assert stream.read(20, 2) == [(20, b"b20"), (21, b"y" * 500)]
