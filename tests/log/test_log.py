"""The file log: round trips, recovery after any truncation, corruption, readers, lock."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import log as logmod
from engine.config import LogConfig
from engine.log import reader as readermod
from engine.log import writer as writermod
from engine.log.framing import BATCH, BATCH_SIZE, decode_header, record_spans, segment_name
from engine.records import (
    AnyRecord,
    OrderAccepted,
    SubmitOrder,
    Trade,
)

ROOT = Path(__file__).resolve().parents[2]
SMALL = LogConfig(segment_bytes=4096, index_every=8)


def make(seq: int) -> AnyRecord:
    kind = seq % 3
    if kind == 0:
        return SubmitOrder(
            seq=seq,
            ts=seq * 10,
            team_id="TEAM_0001",
            instrument_id="SPX_4400_CALL",
            side="buy",
            quantity=seq % 50 + 1,
            order_type="limit",
            price=1000 + seq,
            client_order_id=f"c{seq}",
        )
    if kind == 1:
        return OrderAccepted(
            seq=seq,
            ts=seq * 10,
            order_id=f"ORD_{seq:08d}",
            team_id="TEAM_0001",
            instrument_id="SPX_4400_CALL",
            side="sell",
            order_type="limit",
            quantity=3,
            price=990,
        )
    return Trade(
        seq=seq,
        ts=seq * 10,
        trade_id=f"TRD_{seq}",
        instrument_id="SPY_440_PUT",
        price=123,
        quantity=2,
        maker_order_id="A",
        maker_team_id="T1",
        maker_side="buy",
        maker_fee=4,
        maker_remaining=0,
        taker_order_id="B",
        taker_team_id="T2",
        taker_fee=-4,
        taker_remaining=1,
    )


def records(n: int, start: int = 1) -> list[AnyRecord]:
    return [make(s) for s in range(start, start + n)]


def write(directory: Path, batches: list[list[AnyRecord]], config: LogConfig = SMALL) -> None:
    with logmod.open_writer(directory, config) as writer:
        for batch in batches:
            writer.append(batch)


def read_all(directory: Path, from_seq: int = 1) -> list[AnyRecord]:
    with logmod.open_reader(directory) as reader:
        return list(reader.read(from_seq))


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=12))
def test_any_batch_sequence_reads_back_identical(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int]
) -> None:
    directory = tmp_path_factory.mktemp("log")
    batches, seq = [], 1
    for size in sizes:
        batches.append(records(size, seq))
        seq += size
    write(directory, batches)
    everything = [r for b in batches for r in b]
    assert read_all(directory) == everything
    # any starting seq reads the exact suffix (the sparse index finds the place)
    for start in (1, len(everything) // 2 + 1, len(everything)):
        assert read_all(directory, start) == everything[start - 1 :]


def test_rollover_makes_segments_named_by_their_first_seq(tmp_path: Path) -> None:
    write(tmp_path, [records(40, s) for s in range(1, 401, 40)])
    names = [p.name for p in segments(tmp_path)]
    assert len(names) > 3
    assert names[0] == segment_name(1)
    assert read_all(tmp_path) == records(400)
    with logmod.open_writer(tmp_path, SMALL) as writer:
        assert writer.head_seq == 400
        writer.append(records(5, 401))
    assert read_all(tmp_path)[-5:] == records(5, 401)


def test_reading_late_seqs_touches_only_the_last_segment(tmp_path: Path) -> None:
    write(tmp_path, [records(40, s) for s in range(1, 401, 40)])
    *early, _last = segments(tmp_path)
    for path in early:  # frames zeroed: a reader that scanned from seq 1 would fail on them
        data = path.read_bytes()
        path.write_bytes(data[:64] + b"\0" * (len(data) - 64))
    assert read_all(tmp_path, 399) == records(2, 399)
    with pytest.raises(logmod.LogCorruptError):
        read_all(tmp_path, 1)


def test_truncating_the_final_record_at_every_offset_recovers_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "source"
    # a frame holds one appended batch, so the final record is appended on its own
    write(source, [records(9), records(1, 10)], LogConfig())
    [segment] = segments(source)
    full = segment.read_bytes()
    last_len = len(full) - _offset_of_last_frame(full)
    for cut in range(1, last_len + 1):
        directory = tmp_path / f"cut{cut}"
        directory.mkdir()
        (directory / segment.name).write_bytes(full[: len(full) - cut])
        with logmod.open_writer(directory, LogConfig()) as w:
            assert w.head_seq == 9
            w.append(records(1, 10))  # appendable afterwards
        assert read_all(directory) == records(10)


def _frame_offsets(data: bytes) -> list[int]:
    """Where each frame (one appended batch) of a format-2 segment starts."""
    _, _, pos = decode_header(data, Path("x"))
    out = []
    while pos < len(data):
        out.append(pos)
        pos += BATCH_SIZE + BATCH.unpack_from(data, pos)[0]
    return out


def _offset_of_last_frame(data: bytes) -> int:
    return _frame_offsets(data)[-1]


def test_a_torn_tail_is_reported_with_file_and_offset(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, [records(5)])
    [segment] = segments(tmp_path)
    size = segment.stat().st_size
    with segment.open("ab") as f:
        f.write(b"\x07" * 11)
    with logmod.open_writer(tmp_path, SMALL) as writer:
        assert writer.head_seq == 5
    assert str(segment) in caplog.text
    assert f"byte offset {size}" in caplog.text


def test_corruption_before_the_tail_is_an_error_naming_seq_and_offset(tmp_path: Path) -> None:
    write(tmp_path, [records(10)], LogConfig())
    [segment] = segments(tmp_path)
    data = bytearray(segment.read_bytes())
    spans = record_spans(bytes(data), segment)
    seq, offset, length = spans[4]  # seq 5, inside a frame of ten
    data[offset + length // 2] ^= 0xFF  # one byte inside its payload
    segment.write_bytes(bytes(data))
    with pytest.raises(logmod.LogCorruptError) as info:
        logmod.open_writer(tmp_path, LogConfig())
    assert info.value.seq == seq == 5
    assert info.value.offset == offset
    assert str(segment) in str(info.value)
    with pytest.raises(logmod.LogCorruptError, match=f"seq 5, byte offset {offset}"):
        read_all(tmp_path)


def test_corruption_in_an_earlier_segment_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, [records(40, s) for s in range(1, 201, 40)])
    first = segments(tmp_path)[0]
    data = bytearray(first.read_bytes())
    data[-3] ^= 0x55
    first.write_bytes(bytes(data))
    with pytest.raises(logmod.LogCorruptError, match=str(first)):
        logmod.open_writer(tmp_path, SMALL)


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    with (
        logmod.open_writer(tmp_path, SMALL),
        pytest.raises(
            logmod.LogLockedError, match=f"in use by another writer \\(pid {os.getpid()}\\)"
        ),
    ):
        logmod.open_writer(tmp_path, SMALL)
    logmod.open_writer(tmp_path, SMALL).close()  # free again once closed


def test_appends_must_continue_the_sequence(tmp_path: Path) -> None:
    with logmod.open_writer(tmp_path, SMALL) as writer:
        writer.append(records(3))
        with pytest.raises(logmod.SequenceError):
            writer.append(records(2, 5))
        writer.append(records(2, 4))
    assert read_all(tmp_path) == records(5)


def test_reads_in_chunks_that_end_mid_frame_lose_and_repeat_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk may end inside a frame, hold only frames before the start, or hold more
    than a take's limit (the rest stays pending for the next take): every read from
    every start is still the exact suffix, in lists of at most the limit."""
    batches, seq = [], 1
    for size in [1, 9, 4, 12, 2, 7, 11, 3] * 3:  # frames of ~100 to ~1300 bytes
        batches.append(records(size, seq))
        seq += size
    # one segment, one index hint (at its start): a late start skips many frames
    write(tmp_path, batches, LogConfig(index_every=10**6))
    everything = [r for b in batches for r in b]
    monkeypatch.setattr(readermod, "CHUNK", 1500)  # above any one frame, below most pairs
    for start in range(1, len(everything) + 1):
        assert read_all(tmp_path, start) == everything[start - 1 :], start

    async def follow(start: int, limit: int) -> list[list[AnyRecord]]:
        lists: list[list[AnyRecord]] = []
        with logmod.open_reader(tmp_path) as reader:
            following = reader.follow_batches(start, limit=limit)
            async with contextlib.aclosing(following) as batches:
                async for batch in batches:
                    lists.append(batch)
                    if batch[-1].seq == len(everything):
                        return lists
        raise AssertionError("follow ended")

    for start in (1, 5, 30, len(everything) - 2):
        for limit in (1, 5, 16):
            lists = trio.run(follow, start, limit)
            assert max(len(b) for b in lists) <= limit
            assert [r for b in lists for r in b] == everything[start - 1 :], (start, limit)


@pytest.mark.parametrize("fsync", ["always", "batch", "off"])
def test_every_fsync_mode_writes_the_same_log(tmp_path: Path, fsync: str) -> None:
    write(tmp_path, [records(7), records(9, 8)], LogConfig(fsync=fsync))  # type: ignore[arg-type]
    assert read_all(tmp_path) == records(16)


def test_a_reader_never_sees_past_the_committed_seq(tmp_path: Path) -> None:
    write(tmp_path, [records(6)])
    (tmp_path / "COMMITTED").write_bytes((4).to_bytes(8, "little"))
    with logmod.open_reader(tmp_path) as reader:
        assert reader.head_seq == 4
        assert [r.seq for r in reader.read(1)] == [1, 2, 3, 4]


def test_a_directory_that_is_not_a_log(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(logmod.NotALogError, match=f"{tmp_path} is not a tradepit log"):
        logmod.open_reader(tmp_path)
    with pytest.raises(logmod.LogError, match="does not exist"):
        logmod.open_reader(tmp_path / "missing")


def test_a_garbage_file_named_like_a_segment(tmp_path: Path) -> None:
    garbage = tmp_path / segment_name(1)
    garbage.write_bytes(os.urandom(300))
    with pytest.raises(logmod.NotALogError, match=str(garbage)):
        logmod.open_writer(tmp_path, SMALL)
    with pytest.raises(logmod.NotALogError, match=str(garbage)):
        read_all(tmp_path)


def test_an_unreadable_segment_is_one_clear_line(tmp_path: Path) -> None:
    """Through the real CLI; as root, without the capability that reads any file."""
    write(tmp_path, [records(3)])
    [segment] = segments(tmp_path)
    segment.chmod(0)
    command = [sys.executable, "-m", "engine.cli", "log", "verify", str(tmp_path)]
    if os.geteuid() == 0:
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2, done
    assert done.stderr.strip() == f"error: cannot read log segment {segment}: permission denied"
    assert "Traceback" not in done.stderr + done.stdout


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_fuzzed_segment_bytes_are_records_or_a_log_error(data: bytes) -> None:
    """Like h11's fuzzer: any bytes as a segment either read as records or fail cleanly."""
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / segment_name(1)).write_bytes(data)
        (directory / "COMMITTED").write_bytes((1 << 20).to_bytes(8, "little"))
        try:
            got = read_all(directory)
        except logmod.LogError:
            return
        assert all(r.seq == i + 1 for i, r in enumerate(got))


def test_a_follower_that_read_a_torn_write_reads_the_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk: the writer's write stops half way and is cut back, and the next batch
    is written where it was. A follower that read the torn half meanwhile (it reads
    chunks past the committed head) must read the new batch, not the half joined to the
    new batch's tail (a gateway died on that checksum in the full-disk chaos test)."""
    real = writermod._write_all
    with logmod.open_writer(tmp_path, LogConfig()) as writer, logmod.open_reader(tmp_path) as r:
        writer.append(records(5))
        cursor = readermod._Cursor(r, 1)
        first: list[AnyRecord] = []

        def torn(fd: int, data: bytes | bytearray | memoryview) -> None:
            real(fd, bytes(data)[: len(data) // 2])
            # the follower reads 1-5 now, and in the same chunk the torn half after them
            first.extend(cursor.take(r.head_seq))
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(writermod, "_write_all", torn)
        with pytest.raises(OSError, match="No space left"):
            writer.append(records(40, 6))
        monkeypatch.setattr(writermod, "_write_all", real)
        writer.append(records(3, 6))  # smaller: the torn frame's length points past it
        writer.append(records(4, 9))
        taken = cursor.take(r.head_seq)
        cursor.close()
    assert first == records(5)
    assert taken == records(7, 6)
    assert read_all(tmp_path) == records(12)
