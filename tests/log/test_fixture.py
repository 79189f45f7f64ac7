"""A log written by format version 1 stays readable forever (``tests/fixtures/log-v1``)."""

from __future__ import annotations

from pathlib import Path

from engine import log as logmod
from engine.records import ClockTick, OrderRejected, StartSession, Trade
from tests.engine.test_records import SAMPLES

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "log-v1"


def test_the_committed_fixture_log_reads_back() -> None:
    with logmod.open_reader(FIXTURE) as reader:
        assert reader.head_seq == len(SAMPLES)
        got = list(reader.read(1))
        assert reader.session_id == "fixture-v1"
    assert [r.seq for r in got] == list(range(1, len(SAMPLES) + 1))
    assert [type(r) for r in got] == [type(r) for r in SAMPLES]
    assert isinstance(got[0], StartSession)
    assert got[0].seed == 7
    assert any(isinstance(r, Trade) and r.taker_fee == -2 for r in got)
    assert any(isinstance(r, OrderRejected) and r.details == {"limit": 5} for r in got)
    assert sum(isinstance(r, ClockTick) for r in got) == 1
    assert len(list(FIXTURE.glob("*.seg"))) >= 2  # it spans a rollover


def test_a_format_1_log_takes_new_appends_in_a_format_2_segment(tmp_path: Path) -> None:
    import shutil

    from engine.log.framing import FORMAT_VERSION, segment_version
    from engine.records import ClockTick

    shutil.copytree(FIXTURE, tmp_path / "log")
    with logmod.open_writer(tmp_path / "log") as writer:
        head = writer.head_seq
        writer.append([ClockTick(seq=head + 1, ts=1), ClockTick(seq=head + 2, ts=2)])
    newest = sorted((tmp_path / "log").glob("*.seg"))[-1]
    assert newest.name.startswith(f"{head + 1:020d}")
    assert segment_version(newest.read_bytes()) == FORMAT_VERSION == 2
    with logmod.open_reader(tmp_path / "log") as reader:
        got = list(reader.read(1))
    assert [r.seq for r in got] == list(range(1, head + 3))
    with logmod.open_reader(FIXTURE) as original:
        assert got[: len(SAMPLES)] == list(original.read(1))
