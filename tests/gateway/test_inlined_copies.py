"""The copies written out by hand for speed do what the code they copy does.

``Projection.fold`` is ``Projection._fold(record, expand=False)`` inlined (a catch-up
calls it a million times), and ``RoleLog.append`` is ``Window.append`` then
``Window.keep_last`` in one call (every broadcast goes through it once per role). Each
pair is run side by side here, so an edit to one that the other lacks fails a test.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import pytest

from engine import log as logmod
from engine.records import AnyRecord
from gateway.projection.fold import Projection
from gateway.service.streams import RoleLog, Window
from tests.gateway.builders import busy_log

REPLAYS = Path(__file__).resolve().parents[2] / "replays"


def _fold_both(records: Iterable[AnyRecord]) -> int:
    inlined, general = Projection(), Projection()
    compared = 0
    for record in records:
        assert inlined.fold(record) == general._fold(record, expand=False), record
        compared += 1
    assert inlined.broadcasts == general.broadcasts
    assert {t: (s.own, s.base) for t, s in inlined.teams.items()} == {
        t: (s.own, s.base) for t, s in general.teams.items()
    }
    return compared


def test_fold_is_the_unexpanded_general_fold_on_the_busy_log() -> None:
    assert _fold_both(busy_log().records) > 0


@pytest.mark.parametrize("name", ["quiet-demo", "news-signals", "crash-restart"])
def test_fold_is_the_unexpanded_general_fold_on_a_recorded_session(name: str) -> None:
    with logmod.open_reader(REPLAYS / name / "log") as reader:
        assert _fold_both(reader.read(1)) > 1000


@pytest.mark.parametrize("limit", [1, 3, 1100])
def test_role_log_append_is_window_append_then_keep_last(limit: int) -> None:
    rng = random.Random(limit)
    role_log, window = RoleLog(limit), Window[bytes]()
    for i in range(5000):
        body = f"{i}".encode()
        role_log.append(body)
        window.append(body)
        window.keep_last(limit)
        if rng.random() < 0.01 or i == 4999:
            kept = role_log.bodies
            assert (kept.first, kept.end) == (window.first, window.end)
            assert [kept[j] for j in range(kept.first, kept.end)] == [
                window[j] for j in range(window.first, window.end)
            ]
