"""The session's stream on a real nats-server: append, read, fence, split, reconnect."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import trio

from engine import config as configmod
from engine.log.errors import LogError
from engine.log.nats.client import NatsLog
from engine.log.nats.messages import EXPECTED_LAST_SEQ, MSG_ID, Chunk, Fenced, StreamMismatch, split
from engine.log.nats.server import LocalServer
from engine.log.nats.writer import StreamWriter
from engine.records import EngineStarted, Record, SetClock
from engine.shell.sequencer import Engine, EngineError, NatsOptions
from tests.nats.conftest import TEST_KEY
from tests.procs import wait_until


def batch(first: int, n: int, pad: int = 0) -> list[Record]:
    return [EngineStarted(seq=first + i, ts=pad, recovered_seq=i) for i in range(n)]


def test_a_retry_that_meets_its_own_stored_message_is_not_fenced(nats_log: NatsLog) -> None:
    """A server back from SIGKILL may have stored a message but lost its dedupe state."""
    writer = StreamWriter(nats_log)
    writer.append(batch(1, 5))
    (chunk,) = split(batch(6, 5), nats_log.js.max_payload)
    assert nats_log.sync(nats_log.js.publish(chunk, 1)) == 2
    assert nats_log.sync(nats_log.js.publish(chunk, 1)) == 2  # the retry: same message
    other = Chunk(6, 5, split(batch(6, 5, pad=9), 1 << 20)[0].payload)
    with pytest.raises(Fenced):
        nats_log.sync(nats_log.js.publish(other, 1))


@pytest.fixture
def nats_log(nats_server: LocalServer) -> Iterator[NatsLog]:
    log = NatsLog(nats_server.url, "s1", key=TEST_KEY)
    try:
        yield log
    finally:
        log.close()


def test_batches_read_back_in_order_from_any_seq(nats_log: NatsLog) -> None:
    writer = StreamWriter(nats_log)
    for first in range(1, 1000, 100):
        writer.append(batch(first, 100))
    assert (writer.head_seq, writer.stream_seq) == (1000, 10)
    assert nats_log.head().log_seq == 1000
    assert [r.seq for r in nats_log.read(1)] == list(range(1, 1001))
    assert [r.seq for r in nats_log.read(250, 420)] == list(range(250, 421))
    assert [r.seq for r in nats_log.read(1000)] == [1000]
    assert list(nats_log.read(1001)) == []


def test_take_hands_over_what_nats_py_holds_with_its_bookkeeping(nats_log: NatsLog) -> None:
    """``take`` empties nats-py's queue itself (next_msg per message made a task each):
    the subscription's own counts must then say nothing is pending, as after next_msg."""
    writer = StreamWriter(nats_log)
    for first in range(1, 200, 10):
        writer.append(batch(first, 10))
    js = nats_log.js
    sub = nats_log.sync(js.subscribe(1))
    try:
        wait_until(lambda: sub.pending_msgs >= 19, 10)  # the first one may be taken already
        messages = nats_log.sync(js.take(sub, 256, 5.0))
        while len(messages) < 20:
            messages += nats_log.sync(js.take(sub, 256, 5.0))
        assert [m.stream_seq for m in messages] == list(range(1, 21))
        assert (sub.pending_msgs, sub.pending_bytes) == (0, 0)
        assert sub._pending_queue._unfinished_tasks == 0
    finally:
        nats_log.sync(js.unsubscribe(sub))


def test_a_second_writer_is_fenced_by_the_expected_sequence(nats_server: LocalServer) -> None:
    one, two = (
        NatsLog(nats_server.url, "s1", key=TEST_KEY),
        NatsLog(nats_server.url, "s1", key=TEST_KEY),
    )
    try:
        first = StreamWriter(one)
        first.append(batch(1, 5))
        second = StreamWriter(two)  # opens at the head: the takeover
        second.append(batch(6, 5))
        with pytest.raises(Fenced, match="after stream message 1: another engine appended"):
            first.append(batch(6, 5, pad=1))  # its own records for the same seqs
        assert [r.seq for r in one.read(1)] == list(range(1, 11))
    finally:
        one.close()
        two.close()


def test_a_batch_bigger_than_a_message_is_split_and_read_whole(nats_log: NatsLog) -> None:
    writer = StreamWriter(nats_log)
    big = batch(1, 120_000)
    assert len(msgspec.msgpack.encode(big)) > 2 * nats_log.js.max_payload
    writer.append(big)
    assert writer.stream_seq >= 3
    assert [r.seq for r in nats_log.read(1)] == list(range(1, 120_001))


def test_publishing_through_a_server_restart_leaves_no_gap_and_no_duplicate(
    nats_server: LocalServer, nats_log: NatsLog
) -> None:
    writer = StreamWriter(nats_log)
    stop = threading.Event()
    errors: list[BaseException] = []

    def publish() -> None:
        try:
            while not stop.is_set():
                writer.append(batch(writer.head_seq + 1, 8))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=publish)
    thread.start()
    try:
        wait_until(lambda: writer.head_seq >= 400, 60, "400 records")
        nats_server.kill()  # SIGKILL mid-publish; acknowledged messages are fsynced
        nats_server.start()
        nats_server.wait_ready()
        before = writer.head_seq
        wait_until(lambda: writer.head_seq >= before + 400, 60, "publishing to resume")
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    seqs = [r.seq for r in nats_log.read(1)]
    assert seqs == list(range(1, writer.head_seq + 1))
    assert nats_log.head().stream_seq == writer.head_seq // 8


def test_unsealed_messages_are_skipped_by_name_and_the_writer_steps_past_them(
    nats_log: NatsLog, caplog: pytest.LogCaptureFixture
) -> None:
    """Foreign bytes, a forged batch with plausible headers, a genuine message copied to
    another place: each takes a stream seq, none is read, the writer is not fenced."""
    writer = StreamWriter(nats_log)
    writer.append(batch(1, 3))
    genuine = nats_log.sync(nats_log.js.message(1))
    (forged_chunk,) = split(batch(4, 2, pad=7), nats_log.js.max_payload)
    forged_headers = {**forged_chunk.headers("s1", 1), "Tradepit-Mac": "0" * 64}
    copied = dict(genuine.headers or {})
    for header in (EXPECTED_LAST_SEQ, MSG_ID):  # the stream would refuse or drop the copy
        del forged_headers[header], copied[header]

    async def forge() -> None:
        js, subject = nats_log.js.js, nats_log.names.log_subject
        await js.publish(subject, b"hello")  # message 2
        await js.publish(subject, forged_chunk.payload, headers=forged_headers)  # 3
        await js.publish(subject, genuine.payload, headers=copied)  # 4: a copy

    nats_log.sync(forge())
    assert nats_log.head().log_seq == 3  # the head is the last sealed message
    writer.append(batch(4, 3))  # wrong last sequence, but only forgeries took those seqs
    assert writer.stream_seq == 5
    assert [r.seq for r in nats_log.read(1)] == [1, 2, 3, 4, 5, 6]
    assert [r.ts for r in nats_log.read(4, 5)] == [0, 0]  # not the forged batch's
    assert [r.seq for r in nats_log.read(5)] == [5, 6]  # located among forgeries
    skipped = {
        int(r.getMessage().split("message ")[1].split()[0])
        for r in caplog.records
        if "not sealed with the session key" in r.getMessage()
    }
    assert skipped == {2, 3, 4}
    other = NatsLog(nats_log.url, "s1", key=bytes(32))  # the wrong key finds nothing
    try:
        with pytest.raises(LogError, match="none is sealed with this session key"):
            StreamWriter(other)
    finally:
        other.close()


def test_a_stream_missing_its_first_messages_is_refused(nats_log: NatsLog) -> None:
    from nats.js import api

    async def create() -> None:
        await nats_log.js.js.add_stream(
            api.StreamConfig(
                name=nats_log.names.stream, subjects=[nats_log.names.log_subject], first_seq=5
            )
        )

    nats_log.sync(create())
    with pytest.raises(StreamMismatch, match="starts at message 5: earlier records were removed"):
        list(nats_log.read(1))


async def test_an_engine_whose_append_is_refused_stops(
    tmp_path: Path, nats_server: LocalServer
) -> None:
    config = configmod.load(None, house={"enabled": False}, retail={"enabled": False})
    key_file = tmp_path / "nats.key"
    key_file.write_text(TEST_KEY.hex())  # the usurper is an engine of the session: its key
    options = NatsOptions(nats_server.url, "fence", key_file=key_file)
    engine = Engine(tmp_path / "a", config, 1, nats=options)
    answers: list[object] = []

    async def fence_then_submit() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.serve, "127.0.0.1", 0, False)
            usurper = NatsLog(nats_server.url, "fence", key=TEST_KEY)
            try:
                writer = StreamWriter(usurper)
                writer.append(batch(writer.head_seq + 1, 1))
            finally:
                usurper.close()
            answers.append(await engine.submit(SetClock(running=False)))
            await trio.sleep_forever()

    with trio.fail_after(60), pytest.raises(BaseExceptionGroup) as caught:
        await fence_then_submit()
    assert [getattr(a, "code", None) for a in answers] == ["SERVICE_UNAVAILABLE"]
    (fenced,) = _leaves(caught.value)
    assert isinstance(fenced, EngineError)
    assert str(fenced).startswith("fenced: stream TRADEPIT_fence refused log seqs")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]


def test_an_engine_resumes_and_rebuilds_over_forged_messages(
    tmp_path: Path, nats_server: LocalServer
) -> None:
    """Forgeries after the engine's last message: the engine resumes its data dir (the
    stream and the local log agree where they overlap), publishes past them, and an
    empty data dir rebuilds to the same head."""
    config = configmod.load(None, house={"enabled": False}, retail={"enabled": False})
    key_file = tmp_path / "nats.key"
    key_file.write_text(TEST_KEY.hex())
    options = NatsOptions(nats_server.url, "resume", key_file=key_file)

    def opened(data_dir: Path) -> int:
        engine = Engine(data_dir, config, 1, nats=options)
        engine.open()
        try:
            assert engine.writer is not None
            return engine.writer.head_seq
        finally:
            engine.close()
            assert engine.nats_log is not None
            engine.nats_log.close()

    first = opened(tmp_path / "a")
    forger = NatsLog(nats_server.url, "resume", key=bytes(32))  # not the session's key
    try:
        for i in range(2):
            (chunk,) = split(batch(first + 1 + i, 1), 1 << 20)
            headers = chunk.headers("resume", 0, bytes(32))
            del headers[EXPECTED_LAST_SEQ]
            forger.sync(
                forger.js.js.publish(forger.names.log_subject, chunk.payload, headers=headers)
            )
    finally:
        forger.close()
    resumed = opened(tmp_path / "a")
    assert resumed == first + 1  # its EngineStarted, after the forgeries
    assert opened(tmp_path / "b") == resumed + 1  # rebuilt, then its own EngineStarted
    reader = NatsLog(nats_server.url, "resume", key=TEST_KEY)
    try:
        assert [r.seq for r in reader.read(1)] == list(range(1, resumed + 2))
    finally:
        reader.close()
