"""The supervisor's state, where its gateways can read it: ``DATA_DIR/supervisor.json``.

``serve`` rewrites the file whenever a child starts, dies or waits out a backoff; each
gateway reports it under ``supervisor`` in ``GET /health``, so the organiser (or a
monitor) sees restarts from any gateway without reading ``serve``'s terminal. The file
is replaced atomically (a temporary file, then ``os.replace``): a reader sees the old
state or the new one, never half of either.

A gateway reports the file only when it names the gateway's own supervisor (the pid in
``engine.lifeline.SUPERVISOR_ENV``): a file left by an earlier ``serve`` of the same
session, or a gateway started by hand, reports ``None``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine import lifeline

STATUS_FILE = "supervisor.json"


def write(session: Path, doc: dict[str, Any]) -> None:
    path = session / STATUS_FILE
    tmp = path.with_name(f".{STATUS_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(doc, sort_keys=True))
    os.replace(tmp, path)


def read(session: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((session / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


class StatusFile:
    """``read`` for a gateway's ``/health``: ``None`` unless the file is this process's
    supervisor's. Read whole on every call: a few hundred bytes, where a cache keyed on
    the file's mtime could miss a change made within the clock's granularity."""

    def __init__(self, session: Path) -> None:
        self.session = Path(session)
        self.supervisor = lifeline.supervisor_pid()

    def read(self) -> dict[str, Any] | None:
        if self.supervisor is None:
            return None
        doc = read(self.session)
        if doc is None or doc.get("pid") != self.supervisor:
            return None
        return {k: v for k, v in doc.items() if k != "pid"}
