"""``tradepit replay index DATA_DIR``: fold a whole log once, leaving a snapshot every K records.

After the pass, a seek (``replay inspect --at-seq N``, the viewer's ``GET
/replay/state``) starts from the snapshot at the multiple of K at or before N and folds
fewer than K records. The snapshots are ``replay inspect``'s own cache entries
(``gateway.replay.inspect``), so both read them with the same checks.

Beside them the pass keeps a manifest, ``index.json``, naming the log they were taken
from: its session id, head seq, byte length and the sha256 of its segment files (0.1 s
for a 6-hour session's 145 MB). A cache whose manifest names another log (truncated,
grown, rewritten) is emptied before anything is folded: inspect's own check compares
only the record a snapshot was taken at, which a change earlier in the log escapes.
The manifest also holds how far the pass has got, rewritten after every snapshot, which
is how ``replay serve`` reports the progress of the pass it runs in a child process
(``gateway.replay.background``); an interrupted pass resumes from its last snapshot.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from engine import log as logmod
from engine.log.segment import list_segments
from gateway.replay.inspect import cache_dir, fold, snapshot_path

#: Records between two snapshots. At 10 000 a seek folds fewer than 10 000 records (at
#: most 0.12 s over HTTP) and a 6-hour session's 162 snapshots take 8.2 MB; 5 000 halves
#: the fold for twice the disk, 25 000 doubles it (the sweep in BENCHMARKS.md).
DEFAULT_EVERY = 10_000
MANIFEST = "index.json"


class LogIdentity(msgspec.Struct, frozen=True):
    """What a log is, as far as its snapshots care: any change to its records changes it."""

    session_id: str
    head_seq: int
    bytes: int
    sha256: str


class Manifest(msgspec.Struct):
    log: LogIdentity
    every: int
    indexed: int  # the seq the pass has folded to (its newest snapshot, or the head once done)
    snapshots: int  # the pass's snapshots so far, one per multiple of ``every`` up to ``indexed``
    done: bool


def identity(log_dir: Path) -> LogIdentity:
    with logmod.open_reader(log_dir) as reader:
        head, session_id = reader.head_seq, reader.session_id or ""
    digest, size = hashlib.sha256(), 0
    for segment in list_segments(log_dir):
        digest.update(segment.path.name.encode())
        with segment.path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    return LogIdentity(session_id, head, size, digest.hexdigest())


def cache_of(log: LogIdentity, log_dir: Path) -> Path:
    return cache_dir(log.session_id, log_dir)


def read_manifest(directory: Path) -> Manifest | None:
    try:
        return msgspec.json.decode((directory / MANIFEST).read_bytes(), type=Manifest)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None  # none yet, or half of one from another version: a cache to rebuild


def write_manifest(directory: Path, manifest: Manifest) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = directory / f"{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_bytes(msgspec.json.encode(manifest))
    os.replace(tmp, directory / MANIFEST)  # a reader sees the old manifest or the new one


def prepare(log_dir: Path, every: int) -> Manifest:
    """The manifest the pass starts from: where it resumes, or done. A cache taken from
    another log is emptied first, so that from here on it holds only this log's states."""
    if every < 1:
        raise ValueError("a pass needs a snapshot every K >= 1 records")
    log = identity(log_dir)
    directory = cache_of(log, log_dir)
    old = read_manifest(directory)
    if old is None or old.log != log:
        for path in directory.glob("*.pickle"):
            path.unlink(missing_ok=True)
    # resume after the longest run of snapshots from the start (a pass writes them in
    # order; one left by a seek beyond a gap does not count)
    indexed = 0
    while indexed + every <= log.head_seq and snapshot_path(directory, indexed + every).exists():
        indexed += every
    done = log.head_seq - indexed < every
    manifest = Manifest(log, every, log.head_seq if done else indexed, indexed // every, done)
    write_manifest(directory, manifest)
    return manifest


def build(
    log_dir: Path, every: int = DEFAULT_EVERY, progress: Callable[[Manifest], None] | None = None
) -> Manifest:
    """The pass: fold from where ``prepare`` says to the head, a snapshot every ``every``."""
    manifest = prepare(log_dir, every)
    if manifest.done:
        return manifest
    directory = cache_of(manifest.log, log_dir)

    def saved(seq: int) -> None:
        manifest.indexed = seq
        manifest.snapshots = seq // every
        write_manifest(directory, manifest)
        if progress is not None:
            progress(manifest)

    with logmod.open_reader(log_dir) as reader:
        fold(directory, reader, manifest.indexed, manifest.log.head_seq, every, saved)
    manifest.indexed = manifest.log.head_seq
    manifest.done = True
    write_manifest(directory, manifest)
    return manifest


def index(data_dir: Path, every: int) -> int:
    """The command: the pass, then one line saying what it did. Under ``replay serve``
    it stops when its parent is gone (``engine.lifeline``, and a look at every snapshot)."""
    from engine import lifeline

    if every < 1:
        print("error: a pass needs --snapshot-every K >= 1", file=sys.stderr)
        return 2
    parent = lifeline.bind_to_supervisor()

    def watch(_: Manifest) -> None:
        if parent is not None and os.getppid() != parent:
            sys.exit(1)

    started = time.perf_counter()
    try:
        manifest = build(logmod.log_directory(data_dir), every, watch)
    except logmod.LogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"tradepit replay index: {manifest.log.head_seq} records, {manifest.snapshots} snapshots"
        f" (one every {every}) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return 0
