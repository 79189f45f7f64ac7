"""``replay inspect``: time travel by snapshot plus fold, equal to a fold from seq 1."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.replay.inspect import cache_dir, code_fingerprint, state_at, view

ROOT = Path(__file__).resolve().parents[2]
SESSION = ROOT / "replays" / "quiet-demo"


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_a_later_call_folds_from_the_nearest_snapshot_and_agrees_with_a_full_fold(
    cache: Path,
) -> None:
    first, start, folded = state_at(SESSION, 1800, every=500)
    assert (start, folded) == (0, 1800)
    assert len(list(cache.rglob("*.pickle"))) == 3  # at 500, 1000, 1500
    again, start, folded = state_at(SESSION, 1700, every=500)
    assert (start, folded) == (1500, 200)
    for path in cache.rglob("*.pickle"):
        path.unlink()
    scratch, start, _ = state_at(SESSION, 1700, every=10**9)
    assert start == 0
    assert view(again, None, None) == view(scratch, None, None)
    assert view(first, None, None)["seq"] == 1800


def test_a_damaged_snapshot_is_never_used(cache: Path, tmp_path: Path) -> None:
    state_at(SESSION, 1000, every=500)
    directory = cache_dir("quiet-demo", (SESSION / "log"))
    snapshots = list(cache.rglob("*.pickle"))
    assert snapshots
    for path in snapshots:  # a damaged cache entry is skipped, never trusted
        path.write_bytes(b"junk")
    _, start, folded = state_at(SESSION, 1000, every=10**9)
    assert (start, folded) == (0, 1000)
    assert directory.name  # the cache is keyed by session and log path


def test_a_snapshot_of_other_code_is_a_miss(cache: Path) -> None:
    """After an edit to the projection, an old snapshot is neither reused nor a crash."""
    state_at(SESSION, 1000, every=500)
    assert cache_dir("any", SESSION / "log").parent.name == code_fingerprint()
    snapshots = list((cache / "tradepit" / "snapshots" / code_fingerprint()).rglob("*.pickle"))
    assert len(snapshots) == 2  # another code version would look in another folder
    for path in snapshots:  # an entry whose classes no longer exist
        path.write_bytes(pickle.dumps(("x", _Gone())).replace(b"_Gone", b"_Lost"))
    _, start, folded = state_at(SESSION, 1000, every=10**9)
    assert (start, folded) == (0, 1000)


class _Gone:
    pass


def test_the_cli_prints_tables_and_json(cache: Path) -> None:
    env = {"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin"}
    base = [
        sys.executable,
        "-m",
        "engine.cli",
        "replay",
        "inspect",
        str(SESSION),
        "--at-seq",
        "900",
    ]
    table = subprocess.run(
        [*base, "--team", "maker-bot"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("seq 900  tick ")
    assert "maker-bot (market_maker): cash " in table.stdout
    data = json.loads(
        subprocess.run(
            [*base, "--json", "--instrument", "SPY_440_CALL"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        ).stdout
    )
    assert data["seq"] == 900
    assert list(data["books"]) == ["SPY_440_CALL"]
    outside = subprocess.run(
        [*base[:-1], "999999"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert outside.returncode == 2
    assert outside.stderr.startswith("error: seq 999999 is outside the log")
