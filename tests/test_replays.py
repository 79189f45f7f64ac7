"""The recorded sessions in ``replays/`` reproduce themselves (see ``scripts/record-replays``)."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from engine import log as logmod
from engine.replay.verify import verify

REPLAYS = Path(__file__).resolve().parents[1] / "replays"


def kinds(name: str) -> Counter[str]:
    with logmod.open_reader(REPLAYS / name / "log") as reader:
        return Counter(type(r).__name__ for r in reader.read(1))


@pytest.mark.parametrize("name", ["quiet-demo", "news-signals", "crash-restart"])
def test_each_recorded_session_verifies(name: str) -> None:
    out = io.StringIO()
    assert verify(REPLAYS / name, out=out) == 0, out.getvalue()
    assert out.getvalue().startswith("OK: ")


def test_the_recordings_hold_what_their_names_promise() -> None:
    quiet, news, crash = kinds("quiet-demo"), kinds("news-signals"), kinds("crash-restart")
    assert quiet["News"] == 0
    assert quiet["Trade"] > 0
    assert news["News"] >= 3
    assert news["TrackingSignal"] + news["VolatilitySignal"] > 0
    assert crash["EngineStarted"] == 2  # started, killed with SIGKILL, started again
