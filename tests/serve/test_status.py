"""``supervisor.json``: replaced whole, and read by a gateway only from its own ``serve``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import lifeline
from engine.serve import status


def doc(pid: int, restarts: int) -> dict[str, object]:
    return {"pid": pid, "restarts": restarts, "backoff": False, "children": {}}


def test_the_file_is_replaced_whole(tmp_path: Path) -> None:
    status.write(tmp_path, doc(1, 0))
    status.write(tmp_path, doc(1, 2))
    assert status.read(tmp_path) == doc(1, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [status.STATUS_FILE]  # no temporaries
    (tmp_path / status.STATUS_FILE).write_text("{half")
    assert status.read(tmp_path) is None


def test_a_gateway_reports_its_own_supervisors_state_and_sees_it_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lifeline.SUPERVISOR_ENV, str(os.getpid()))
    reader = status.StatusFile(tmp_path)
    assert reader.read() is None  # serve has not written it yet
    status.write(tmp_path, doc(os.getpid(), 0))
    assert reader.read() == {"restarts": 0, "backoff": False, "children": {}}
    status.write(tmp_path, doc(os.getpid(), 1))
    now = reader.read()
    assert now is not None
    assert now["restarts"] == 1


def test_a_file_left_by_another_serve_or_read_unsupervised_is_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status.write(tmp_path, doc(os.getpid() + 1, 3))  # an earlier serve of the session
    monkeypatch.setenv(lifeline.SUPERVISOR_ENV, str(os.getpid()))
    assert status.StatusFile(tmp_path).read() is None
    monkeypatch.delenv(lifeline.SUPERVISOR_ENV)
    status.write(tmp_path, doc(os.getpid(), 3))
    assert status.StatusFile(tmp_path).read() is None  # a gateway started by hand
