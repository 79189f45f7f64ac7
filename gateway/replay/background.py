"""``replay serve``'s indexing pass, in a child process, and what ``/admin/replay`` says of it.

The pass (``gateway.replay.index``) is a fold of the whole log: seconds of CPU that, in
the gateway's process, would hold the GIL its answers need. A child process runs it
on the other core instead, and reports through the manifest it rewrites after every
snapshot; seeks meanwhile read whatever snapshots it has written so far.

``prepare`` runs here first, before the gateway serves: a cache taken from another
log is emptied before any seek could read it, and a cache already complete for this
log (a second ``replay serve`` of the same session) starts no child at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine import lifeline
from gateway.replay import index


class Indexing:
    """The pass for one log: started at once (``every`` = 0: none), watched by ``view``."""

    def __init__(self, log_dir: Path, every: int) -> None:
        self.every = every
        self.proc: subprocess.Popen[bytes] | None = None
        self.manifest: index.Manifest | None = None
        self.error: str | None = None
        if every == 0:
            return
        try:
            self.manifest = index.prepare(log_dir, every)
        except OSError as exc:  # no cache to write: the replay is served, seeks fold from 1
            self.error = f"no snapshot cache: {exc}"
            print(f"tradepit replay: {self.error}", file=sys.stderr, flush=True)
            return
        self.directory = index.cache_of(self.manifest.log, log_dir)
        if not self.manifest.done:
            # forked from the main thread, before trio starts: PR_SET_PDEATHSIG is tied
            # to the forking thread (engine.lifeline), and a worker thread exits
            command = ["replay", "index", str(log_dir), "--snapshot-every", str(every)]
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "engine.cli", *command],
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr,  # its one line goes to serve's log
                env={**os.environ, lifeline.SUPERVISOR_ENV: str(os.getpid())},
            )

    def view(self) -> dict[str, object]:
        if self.error is not None:
            return {"state": "failed", "error": self.error}
        if self.manifest is None:
            return {"state": "off"}
        manifest = index.read_manifest(self.directory) or self.manifest
        if manifest.log != self.manifest.log:  # another pass's, rewritten under us
            manifest = self.manifest
        exit_code = self.proc.poll() if self.proc is not None else None
        if manifest.done:
            state = "done"
        elif exit_code is not None:
            state = "failed"  # seeks still work: from the snapshots it left, or from seq 1
        else:
            state = "indexing"
        head = manifest.log.head_seq
        return {
            "state": state,
            "every": manifest.every,
            "indexed": manifest.indexed,
            "head": head,
            "snapshots": manifest.snapshots,
            "percent": round(100 * manifest.indexed / head, 1) if head else 100.0,
        }

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
