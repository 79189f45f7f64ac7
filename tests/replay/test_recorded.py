"""The recorded sessions in ``replays/`` reproduce themselves (see ``scripts/record-replays``)."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from engine import log as logmod
from engine.replay.verify import verify

REPLAYS = Path(__file__).resolve().parents[2] / "replays"


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


def test_over_a_recorded_session_signals_reach_only_their_roles() -> None:
    """The hedge fund bot hears forecasts, the arbitrage bot tracking errors, the maker neither."""
    from gateway.projection.fold import Projection
    from gateway.projection.messages import stream_frame

    projection = Projection()
    heard: dict[str, Counter[str]] = {}
    with logmod.open_reader(REPLAYS / "news-signals" / "log") as reader:
        for record in reader.read(1):
            for delivery in projection.step(record):
                message = msgspec.json.decode(stream_frame(delivery.seq, delivery.body))
                if message["type"] == "signal":
                    heard.setdefault(delivery.team_id, Counter())[
                        message["data"]["signal_type"]
                    ] += 1
    names = {t.team_name: t.team_id for t in projection.teams.values()}
    assert names["maker-bot"] not in heard
    assert set(heard[names["fund-bot"]]) == {"volatility_forecast"}
    assert set(heard[names["arb-bot"]]) == {"tracking_error"}
