"""A team's own messages past ``events_history_bytes``, spilled to disk and read back
(``gateway/service/spill.py``, ``TeamStream`` in ``gateway/service/streams.py``).

The reference is the same stream with no byte cap, which keeps everything in memory:
whatever a capped stream reads, from the spill, from memory or across the two, must be
its read, byte for byte. At the gateway's level the reference is a gateway over the
same log that keeps everything, as in ``test_archive.py``; there the archive must not be
asked for anything the spill holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from trio_websocket import open_websocket_url

from gateway.main import serve_app
from gateway.service.spill import Spill
from gateway.service.streams import RoleLog, SnapshotRequired, Streams, TeamStream
from gateway.upstream.source import MemoryLog
from tests.gateway.test_archive import RECORDS, ROLES, following, page_all, teams

Event = tuple[bool, bytes]  # (the team's own message?, its body)


class Pair:
    """The same stream twice: capped in bytes with a spill, and uncapped."""

    def __init__(self, cap: int, limit: int = 10**9, spill: Spill | None = None) -> None:
        self.spill = spill or Spill()
        self.capped = TeamStream(RoleLog(limit), limit, cap, self.spill)
        self.whole = TeamStream(RoleLog(limit), limit)

    def add(self, events: list[Event]) -> None:
        for own, body in events:
            if own:
                for stream in (self.capped, self.whole):
                    stream.append(stream.head + 1, body)
            else:
                self.capped.log.append(body)
                self.whole.log.append(body)

    def same(self, start: int, count: int) -> None:
        assert self.capped.read(start, count) == self.whole.read(start, count)


def day(messages: int, every: int = 3, size: int = 700) -> Iterator[Event]:
    """Own messages of about ``size`` bytes (each different), a broadcast every
    ``every``th message."""
    for n in range(1, messages + 1):
        if n % every == 0:
            yield False, b'"type":"tick_start","data":{"n":%d}}' % n
        else:
            pad = b"x" * (n % size)
            yield True, b'"type":"score_update","data":{"n":%d,"pad":"%s"}}' % (n, pad)


def test_own_messages_far_past_the_cap_read_back_from_seq_1_as_if_uncapped() -> None:
    cap = 16 * 1024
    pair = Pair(cap)
    pair.add(list(day(3000)))
    capped, spill = pair.capped, pair.spill
    assert capped.own_bytes <= cap  # memory keeps to its budget...
    assert capped.spilled is not None
    assert len(capped.spilled.last) > 20
    own = sum(len(body) for own, body in day(3000) if own)
    assert own > 40 * cap  # ...with far more than it written to disk
    # on disk once each; the newest may be in memory too (written a block ahead)
    assert spill.raw <= own <= spill.raw + capped.own_bytes
    assert spill.size < spill.raw / 3  # compressed
    assert capped.first == 1
    assert capped.floor == 1
    assert capped.head == pair.whole.head == 3000
    assert capped.read(1, 10**6) == pair.whole.read(1, 10**6)
    # the index is a few bytes a message at most: 32 bytes a block (of 4 KiB here)
    assert index_bytes(capped) / 2000 < 4


def index_bytes(stream: TeamStream) -> int:
    spilled = stream.spilled
    assert spilled is not None
    columns = (spilled.last, spilled.index, spilled.offset, spilled.length)
    return sum(column.itemsize * len(column) for column in columns)


def test_at_the_default_cap_the_index_is_a_fraction_of_a_byte_a_message() -> None:
    pair = Pair(256 * 1024)  # [gateway] events_history_bytes, by default
    pair.add(list(day(12_000, every=2, size=2000)))
    spilled = pair.capped.spilled
    assert spilled is not None
    assert pair.spill.raw > 20 * 256 * 1024
    assert index_bytes(pair.capped) / 6000 < 0.5  # blocks of 64 KiB
    pair.same(1, 10**6)


def test_reads_inside_a_block_across_the_boundary_and_in_memory() -> None:
    pair = Pair(8 * 1024)
    pair.add(list(day(2000, size=200)))
    spilled, capped = pair.capped.spilled, pair.capped
    assert spilled is not None
    memory_from = capped.own_seqs[capped.own_seqs.first]  # the oldest own message in memory
    last_spilled = spilled.last[-1]
    # the last block was written ahead of the drops: its newest are in memory too
    assert memory_from <= last_spilled < capped.head - 20
    starts = {
        "inside a block": spilled.last[3] - 2,
        "on a block's last": spilled.last[3],
        "just before memory": memory_from - 1,
        "on memory's first": memory_from,
        "in memory and on disk": last_spilled,
        "in memory alone": last_spilled + 1,
        "at the head": capped.head,
    }
    for start in starts.values():
        for count in (1, 2, 7, 64, 500, 10**6):
            pair.same(start, count)
    # across the spill/memory boundary in one read
    assert capped.head > memory_from + 20
    out = capped.read(memory_from - 20, 40)
    assert [seq for seq, _ in out] == list(range(memory_from - 20, memory_from + 20))
    pair.same(memory_from - 20, 40)
    assert capped.read(capped.head + 1, 10) == []


def test_one_message_at_a_time_decodes_each_block_once() -> None:
    """``Subscription.next`` reads a message at a time: a block read back is kept."""
    pair = Pair(8 * 1024)
    pair.add(list(day(1500)))
    spilled = pair.capped.spilled
    assert spilled is not None
    for seq in range(1, spilled.last[-1] + 1):
        assert pair.capped.body(seq) == pair.whole.body(seq)
    assert pair.spill.reads == len(spilled.last)


def test_blocks_past_events_history_are_forgotten_and_first_is_what_is_kept() -> None:
    """Only what is truly gone, older than the last ``events_history`` messages, is
    older than kept; the blocks wholly before it leave the team's index."""
    limit = 900
    pair = Pair(4 * 1024, limit)
    pair.add(list(day(3000)))
    capped, whole = pair.capped, pair.whole
    assert capped.first == whole.first == 3000 - limit + 1
    assert capped.spilled is not None
    assert capped.spilled.last[0] >= capped.first  # the older blocks were dropped
    with pytest.raises(SnapshotRequired):
        capped.read(capped.first - 1, 1)
    for start in range(capped.first, capped.head + 1, 37):
        pair.same(start, 101)
    # and once the whole index is past it, the stream forgets it (at its next message)
    pair.add([(False, b"b%d" % n) for n in range(2 * limit)])
    pair.same(capped.first, 10**6)
    pair.add([(True, b"own")])
    assert capped.spilled is None
    pair.same(capped.first, 10**6)


def test_a_failed_write_turns_the_spill_off_and_drops_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full disk: what would have been spilled is dropped, and older reads are 410
    (the archive's), as before the spill; what was spilled before still reads."""
    pair = Pair(4 * 1024)
    pair.add(list(day(300)))
    capped = pair.capped
    assert capped.spilled is not None
    assert capped.first == 1
    spilled_to = capped.spilled.last[-1]

    def full(*args: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    pair.add(list(day(300)))
    assert pair.spill.broken
    assert capped.own_bytes <= 4 * 1024
    assert capped.first == capped.floor > spilled_to
    with pytest.raises(SnapshotRequired):
        capped.read(capped.first - 1, 1)
    pair.same(capped.first, 10**6)


def test_teams_share_one_spill_file_opened_at_the_first_block() -> None:
    streams = Streams(10**6, 16, 4096)
    spill = streams.spill
    assert spill is not None
    assert spill._fd == -1
    for own, body in day(600):
        if own:
            for team in ("A", "B", "C"):
                stream = streams.stream(team, "retail")
                stream.append(stream.head + 1, body)
        else:
            streams._role("retail").append(body)
    fd = spill._fd
    assert fd >= 0
    assert os.fstat(fd).st_size == spill.size > 0
    assert os.fstat(fd).st_nlink == 0  # anonymous: gone with the process
    for team in ("A", "B", "C"):
        stream = streams.stream(team)
        assert stream.spilled is not None
        assert stream.first == 1
        assert [json.loads(b"{" + body)["data"]["n"] for _, body in stream.read(1, 10**6)] == \
            list(range(1, 601))  # fmt: skip
    spill.close()
    assert Streams(10**6, 16, 0).spill is None  # no cap: nothing to spill


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data=st.data())
def test_every_read_of_a_capped_spilled_stream_is_the_uncapped_read(
    data: st.DataObject,
) -> None:
    count = data.draw(st.integers(0, 300), label="messages")
    own = data.draw(st.lists(st.booleans(), min_size=count, max_size=count), label="own?")
    sizes = data.draw(st.lists(st.integers(0, 300), min_size=count, max_size=count), label="sizes")
    # every body different: a message read from the wrong place shows
    events = [
        (o, b"%d:" % n + b"x" * size) for n, (o, size) in enumerate(zip(own, sizes, strict=True))
    ]
    cap = data.draw(st.integers(1, 3000), label="events_history_bytes")
    limit = data.draw(st.sampled_from([10**9, 50, 120]), label="events_history")
    pair = Pair(cap, limit)
    try:
        # in two halves, reading in between: a block read back (cached) is not changed
        half = len(events) // 2
        pair.add(events[:half])
        pair.same(pair.capped.first, 10**6)
        pair.add(events[half:])
        capped = pair.capped
        assert capped.first == pair.whole.first
        # within the cap in memory, unless all it keeps is one message over it alone
        assert capped.own_bytes <= cap or capped.own.end - capped.own.first == 1
        for start in range(capped.first, capped.head + 2):
            for reading in (1, 2, 3, 10, 10**6):
                pair.same(start, reading)
    finally:
        pair.spill.close()


async def test_a_resume_the_spill_holds_never_asks_the_archive(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """GET /events pages and a WebSocket from last_seq=0, every message of every team,
    byte for byte the stream of a gateway that keeps everything; the archive's counters
    stay at 0."""
    log = MemoryLog(RECORDS)
    async with trio.open_nursery() as nursery:
        everything = await following(nursery, log, events_history_bytes=0)
        small = await following(nursery, log, events_history_bytes=2048, events_page_max=25)
        assert len(teams(small)) == len(ROLES)
        spill = small.streams.spill
        assert spill is not None
        for team in teams(small):
            stream = small.streams.stream(team.team_id)
            assert stream.own_bytes <= 2048
            assert stream.spilled is not None
            assert stream.first == 1
            expected = await page_all(everything, team, 2000)
            assert await page_all(small, team, 37) == expected  # pages end mid-block
        port = await nursery.start(serve_app, small, "127.0.0.1", 0)
        for role, team in zip(ROLES, teams(small), strict=True):
            expected = await page_all(everything, team, 2000)
            url = f"ws://127.0.0.1:{port}/ws?api_key=t-{role}&last_seq=0"
            received = []
            async with open_websocket_url(url) as ws:
                for _ in expected:
                    message = await ws.get_message()
                    assert isinstance(message, str)
                    received.append(message.encode())
            assert received == expected
        assert spill.reads > 0
        m = small.metrics
        assert (m.archive_pages, m.archive_records_folded, m.archive_folds) == (0, 0, 0)
        nursery.cancel_scope.cancel()
