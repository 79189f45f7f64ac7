"""Seeks after the indexing pass: at most K records folded from a snapshot, the state
``replay inspect`` prints, a cache a second ``replay serve`` reuses and a changed log
throws away. Counts, not clocks: ``state_at`` and ``GET /replay/state`` say how many
records a seek folded (the time per record is in BENCHMARKS.md)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import msgspec
import pytest

from engine import log as logmod
from engine.ports import free_port
from engine.records import AnyRecord, TeamRegistered
from gateway.projection.fold import Projection
from gateway.replay import index
from gateway.replay.background import Indexing
from gateway.replay.inspect import state_at, view
from tests.procs import ROOT, Proc, tradepit_output, wait_until

SESSION = ROOT / "replays" / "quiet-demo"
EVERY = 200


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def records(log_dir: Path) -> list[AnyRecord]:
    with logmod.open_reader(log_dir) as reader:
        return list(reader.read(1))


def write_log(log_dir: Path, batch: list[AnyRecord]) -> None:
    """A log holding ``batch``, in place of whatever was at ``log_dir``."""
    shutil.rmtree(log_dir, ignore_errors=True)
    with logmod.open_writer(log_dir) as writer:
        writer.append(batch)


def snapshots(cache: Path) -> set[int]:
    return {int(p.stem) for p in cache.rglob("*.pickle")}


def test_after_the_pass_every_seek_folds_fewer_than_k_records_and_equals_a_full_fold(
    cache: Path,
) -> None:
    manifest = index.build(SESSION / "log", EVERY)
    head = manifest.log.head_seq
    assert (manifest.done, manifest.indexed, manifest.snapshots) == (True, head, head // EVERY)
    assert snapshots(cache) == set(range(EVERY, head + 1, EVERY))
    scratch = Projection()
    for record in records(SESSION / "log"):
        scratch.step(record)
        if record.seq % 7 and record.seq not in (1, head):
            continue
        projection, start, folded = state_at(SESSION, record.seq)
        assert start == record.seq // EVERY * EVERY
        assert folded == record.seq - start < EVERY
        assert view(projection, None, None) == view(scratch, None, None)


def test_an_interrupted_pass_resumes_and_seeks_meanwhile_use_its_snapshots(cache: Path) -> None:
    class Stop(Exception):
        pass

    def stop_at_600(manifest: index.Manifest) -> None:
        if manifest.indexed == 600:
            raise Stop

    with pytest.raises(Stop):
        index.build(SESSION / "log", EVERY, stop_at_600)
    directory = index.cache_of(index.identity(SESSION / "log"), SESSION / "log")
    partial = index.read_manifest(directory)
    assert partial is not None
    assert (partial.done, partial.indexed, partial.snapshots) == (False, 600, 3)
    _, start, folded = state_at(SESSION, 1700)  # a seek during the pass: from what exists
    assert (start, folded) == (600, 1100)
    reported: list[int] = []
    index.build(SESSION / "log", EVERY, lambda m: reported.append(m.indexed))
    assert reported[0] == 800  # resumed after 600, not from seq 1
    _, start, folded = state_at(SESSION, 1700)
    assert (start, folded) == (1600, 100)


def test_a_truncated_or_changed_log_empties_the_cache(tmp_path: Path, cache: Path) -> None:
    log_dir = tmp_path / "session" / "log"
    original = records(SESSION / "log")
    write_log(log_dir, original)
    index.build(log_dir, EVERY)
    assert max(snapshots(cache)) == 1800

    write_log(log_dir, original[:1000])  # truncated: the snapshots past 1000 describe nothing
    manifest = index.prepare(log_dir, EVERY)
    assert (manifest.done, manifest.indexed, manifest.log.head_seq) == (False, 0, 1000)
    assert snapshots(cache) == set()
    index.build(log_dir, EVERY)
    assert max(snapshots(cache)) == 1000

    # the same length, one record changed before the snapshots' own records: inspect's
    # check (the record at a snapshot's seq) cannot see it, the manifest does
    changed = [
        msgspec.structs.replace(r, team_name="maker-b0t")
        if isinstance(r, TeamRegistered) and r.team_name == "maker-bot"
        else r
        for r in original[:1000]
    ]
    assert changed != original[:1000]
    write_log(log_dir, changed)
    assert not index.prepare(log_dir, EVERY).done
    index.build(log_dir, EVERY)
    projection, start, folded = state_at(log_dir, 990)
    assert (start, folded) == (800, 190)
    names = {t["team_name"] for t in view(projection, None, None)["teams"].values()}
    assert "maker-b0t" in names
    assert "maker-bot" not in names


def test_no_pass_when_off_or_when_the_cache_is_complete(cache: Path) -> None:
    assert Indexing(SESSION / "log", 0).view() == {"state": "off"}
    index.build(SESSION / "log", EVERY)
    warm = Indexing(SESSION / "log", EVERY)
    assert warm.proc is None  # nothing to fold: no child
    assert warm.view()["state"] == "done"
    assert warm.view()["snapshots"] == 1808 // EVERY


def test_a_cache_that_cannot_be_written_is_reported_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    status = Indexing(SESSION / "log", EVERY).view()
    assert status["state"] == "failed"
    assert str(status["error"]).startswith("no snapshot cache: ")


def inspect_cli(seq: int, cache: Path) -> str:
    """What ``replay inspect`` prints, from an empty cache of its own (a fold from seq 1)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return tradepit_output("replay", "inspect", str(SESSION), "--at-seq", str(seq), env=env)


def serve(tmp_path: Path, name: str) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc.tradepit(
        "replay",
        "serve",
        str(SESSION),
        "--port",
        str(port),
        "--paused",
        "--snapshot-every",
        str(EVERY),
        log=tmp_path / f"{name}.log",
    )
    proc.wait_for("serving on")
    return proc, f"http://127.0.0.1:{port}"


def test_replay_serve_indexes_in_a_child_and_a_second_serve_starts_warm(tmp_path: Path) -> None:
    proc, url = serve(tmp_path, "first")
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            wait_until(
                lambda: client.get("/replay/index").json()["data"]["state"] == "done",
                what="the indexing pass",
            )
            status = client.get("/admin/replay").json()["data"]["index"]
            assert status == {
                "state": "done",
                "every": EVERY,
                "indexed": 1808,
                "head": 1808,
                "snapshots": 9,
                "percent": 100.0,
            }
            for seq in (1, 199, 200, 1207, 1808):
                data = client.get(f"/replay/state?seq={seq}").json()["data"]
                assert (data["snapshot_seq"], data["folded"]) == (seq // EVERY * EVERY, seq % EVERY)
                assert data["text"] == inspect_cli(seq, tmp_path / "fresh")
    finally:
        proc.stop()
    assert proc.wait_for("tradepit replay index: 1808 records, 9 snapshots")

    proc, url = serve(tmp_path, "second")
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/replay/index").json()["data"]["state"] == "done"  # at once
            data = client.get("/replay/state?seq=1207").json()["data"]
            assert (data["snapshot_seq"], data["folded"]) == (1200, 7)
    finally:
        proc.stop()
    assert "replay index:" not in proc.output()  # no second pass
