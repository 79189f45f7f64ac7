"""The stream relay: a child process reading the stream for a remote gateway.

The frame format is tested pure; the relay itself against a real nats-server, with a
real child process, killed from outside where the test says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from engine.log.errors import LogError
from engine.log.nats.client import NatsLog
from engine.log.nats.relay import Relay
from engine.log.nats.relay_process import Frames, error_frame, message_frame
from engine.log.nats.server import LocalServer
from engine.log.nats.writer import StreamWriter
from engine.records import EngineStarted, Record
from gateway.upstream.remote import StreamSource
from tests.nats.conftest import TEST_KEY


def batch(first: int, n: int) -> list[Record]:
    return [EngineStarted(seq=first + i, ts=0, recovered_seq=i) for i in range(n)]


@given(
    st.lists(st.binary(max_size=300), max_size=20),
    st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=50),
)
def test_frames_come_out_whole_however_the_pipe_cuts_them(
    payloads: list[bytes], cuts: list[int]
) -> None:
    sent = [(i + 1, 10 * i + 1, i + 1, p) for i, p in enumerate(payloads)]
    data = b"".join(message_frame(*frame) for frame in sent)
    frames, got, pos, i = Frames(), [], 0, 0
    while pos < len(data):
        step = cuts[i % len(cuts)]
        got += frames.feed(data[pos : pos + step])
        pos, i = pos + step, i + 1
    assert got == sent
    assert frames.feed(b"") == []


def test_an_error_frame_raises_the_childs_text() -> None:
    frames = Frames()
    assert frames.feed(message_frame(1, 1, 1, b"x")) == [(1, 1, 1, b"x")]
    with pytest.raises(LogError, match="no stream TRADEPIT_x"):
        frames.feed(error_frame("no stream TRADEPIT_x on NATS"))


@pytest.fixture
def nats_log(nats_server: LocalServer) -> Iterator[NatsLog]:
    log = NatsLog(nats_server.url, "s1", key=TEST_KEY)
    try:
        yield log
    finally:
        log.close()


def test_the_relay_reads_from_any_seq_and_follows_new_messages(
    nats_log: NatsLog, nats_server: LocalServer
) -> None:
    writer = StreamWriter(nats_log)
    for first in range(1, 1000, 100):
        writer.append(batch(first, 100))

    async def main() -> list[int]:
        seqs: list[int] = []
        relay = await Relay.spawn(nats_server.url, "s1", TEST_KEY)
        try:
            with trio.fail_after(60):
                async with contextlib.aclosing(relay.follow(250)) as batches:
                    async for records in batches:
                        seqs += [r.seq for r in records]
                        if seqs[-1] == 1000:  # the head: what comes next is published live
                            await trio.to_thread.run_sync(writer.append, batch(1001, 50))
                        if seqs[-1] == 1050:
                            break
        finally:
            await relay.aclose()
        return seqs

    assert trio.run(main) == list(range(250, 1051))


def test_the_relays_error_reaches_the_gateway_with_its_text(nats_server: LocalServer) -> None:
    async def main() -> None:
        relay = await Relay.spawn(nats_server.url, "nosuch", TEST_KEY)
        try:
            with trio.fail_after(60):
                async with contextlib.aclosing(relay.follow(1)) as batches:
                    async for _ in batches:
                        pass
        finally:
            await relay.aclose()

    with pytest.raises(LogError, match="no stream TRADEPIT_nosuch"):
        trio.run(main)


def _relay_children() -> list[int]:
    """Our relay processes still alive (not zombies), found by parent pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if (
            int(ppid) == os.getpid()
            and state != "Z"
            and b"engine.log.nats.relay_process" in cmdline
        ):
            found.append(int(entry.name))
    return found


def test_a_killed_relay_is_replaced_and_nothing_is_missed_or_repeated(
    nats_log: NatsLog,
) -> None:
    writer = StreamWriter(nats_log)
    writer.append(batch(1, 100))

    async def main() -> list[int]:
        seqs: list[int] = []
        source = StreamSource(nats_log)
        killed = 0
        with trio.fail_after(60):
            async with contextlib.aclosing(source.follow_batches(1)) as batches:
                async for records in batches:
                    seqs += [r.seq for r in records]
                    if seqs[-1] == 100 and not killed:
                        (killed,) = _relay_children()
                        os.kill(killed, signal.SIGKILL)
                        # published while no relay reads: the next one must start at 101
                        await trio.to_thread.run_sync(writer.append, batch(101, 100))
                    if seqs[-1] == 200:
                        assert killed not in _relay_children()
                        break
        return seqs

    assert trio.run(main) == list(range(1, 201))
    assert _relay_children() == []


def test_a_gateway_with_the_wrong_key_stops_with_why(nats_log: NatsLog) -> None:
    StreamWriter(nats_log).append(batch(1, 10))
    wrong = NatsLog(nats_log.url, "s1", key=bytes(32))

    async def main() -> None:
        source = StreamSource(wrong)
        with trio.fail_after(60):
            async with contextlib.aclosing(source.follow_batches(1)) as batches:
                async for _ in batches:
                    raise AssertionError("read a message the key did not seal")

    try:
        with pytest.raises(LogError, match="none is sealed with this session key"):
            trio.run(main)
    finally:
        wrong.close()


def test_the_relay_skips_forged_messages_whatever_their_headers(
    nats_log: NatsLog, nats_server: LocalServer
) -> None:
    """Headers no frame could hold, none at all, a wrong MAC: skipped, the relay reads on."""
    writer = StreamWriter(nats_log)
    writer.append(batch(1, 10))

    async def forge() -> None:
        js, subject = nats_log.js.js, nats_log.names.log_subject
        for first, count in ((1 << 70, 1), (1, 1 << 40)):
            headers = {"Tradepit-First-Seq": str(first), "Tradepit-Count": str(count)}
            await js.publish(subject, b"x", headers=headers)
        await js.publish(subject, b"x")
        await js.publish(subject, b"x", headers={"Tradepit-Mac": "\u00e9" * 80})

    nats_log.sync(forge())
    writer.append(batch(11, 10))

    async def main() -> list[int]:
        seqs: list[int] = []
        relay = await Relay.spawn(nats_server.url, "s1", TEST_KEY)
        try:
            with trio.fail_after(60):
                async with contextlib.aclosing(relay.follow(1)) as batches:
                    async for records in batches:
                        seqs += [r.seq for r in records]
                        if seqs[-1] == 20:
                            break
        finally:
            await relay.aclose()
        return seqs

    assert trio.run(main) == list(range(1, 21))
