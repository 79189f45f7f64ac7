"""The core compiled by mypyc is the same machine as the plain-Python one.

``./scripts/test`` builds it, so the rest of the suite (replays included) runs compiled;
here a plain-Python process re-runs a mixed command stream and must emit the very same
bytes. Also: a build that does not match the sources is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import native

STREAM = """
import hashlib
from benchmarks.core import prepared
from engine.records import encode
core, batch = prepared(20_000)
h = hashlib.sha256()
for command in batch:
    for event in core.apply(command):
        h.update(encode(event))
print(h.hexdigest(), core.digest())
"""


def run_stream(pure: bool) -> tuple[bool, str]:
    """(whether the process ran the compiled core, what it emitted)"""
    env = {k: v for k, v in os.environ.items() if k != "TRADEPIT_PURE"}
    if pure:
        env["TRADEPIT_PURE"] = "1"
    code = "import engine.core; print(engine.core.NATIVE)\n" + STREAM
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    form, result = done.stdout.strip().splitlines()
    return form == "True", result


def test_compiled_and_plain_cores_emit_the_same_bytes() -> None:
    compiled, fast = run_stream(pure=False)
    plain, slow = run_stream(pure=True)
    assert compiled, (
        f"the compiled core is not in use ({native.why_not()}): after an edit to engine/core/, "
        "run `tradepit native build` (about 15 s; ./scripts/test does it for you)"
    )
    assert not plain
    assert fast == slow


def test_a_build_from_other_sources_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADEPIT_PURE", raising=False)
    manifest = native.wanted()
    sources = dict(manifest["sources"])  # type: ignore[call-overload]
    sources["book"] = hashlib.sha256(b"an older book.py").hexdigest()
    stale = tmp_path / "manifest.json"
    stale.write_text(json.dumps({**manifest, "sources": sources}))
    monkeypatch.setattr(native, "MANIFEST", stale)
    path: list[str] = []
    assert native.why_not() == "the sources, Python or mypy changed since the last build"
    assert native.activate(path) is False
    assert path == []


def test_pure_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEPIT_PURE", "1")
    assert native.why_not() == "TRADEPIT_PURE is set"
    assert native.activate([]) is False
