"""The dashboard's public stream, folded from the recorded sessions (no processes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from engine import log as logmod
from engine.records import Command, News, Trade
from gateway.projection import public
from gateway.projection.fold import Projection
from gateway.service.public_stream import PERIOD_NS, PublicStream
from gateway.service.streams import SnapshotRequired

REPLAYS = Path(__file__).resolve().parents[2] / "replays"
PRIVATE = {"signal", "new_order_ack", "execution_report", "order_cancelled",
           "position_snapshot", "score_update", "event"}  # fmt: skip


def folded(name: str, history: int = 100_000) -> tuple[Projection, PublicStream]:
    projection, stream = Projection(), PublicStream(history, 64)
    with logmod.open_reader(REPLAYS / name / "log") as reader:
        for record in reader.read(1):
            projection.fold(record)
            stream.publish(projection, record)
    return projection, stream


def messages(stream: PublicStream) -> list[dict[str, Any]]:
    return [
        json.loads(b'{"seq":%d,%s' % (seq, body))
        for seq, body in stream.stream.read(1, stream.head)
    ]


def test_every_kind_comes_and_nothing_private() -> None:
    _, stream = folded("news-signals")
    kinds = {m["type"] for m in messages(stream)}
    assert kinds == {"tick", "phase", "prices", "quotes", "books", "trades", "news", "leaderboard"}
    assert not kinds & PRIVATE
    text = b"".join(body for _, body in stream.stream.read(1, stream.head))
    # the fields only signals carry, and what identifies a key
    for secret in (b'"signal_type"', b'"forecast"', b'"confidence"', b'"z_score"', b"api_key"):
        assert secret not in text
    trades = [t for m in messages(stream) if m["type"] == "trades" for t in m["data"]["trades"]]
    assert trades
    assert all("team_id" not in json.dumps(t) for t in trades)


def test_two_gateways_folding_one_log_number_the_same_messages() -> None:
    _, one = folded("crash-restart")
    _, two = folded("crash-restart")
    assert one.head > 40
    assert one.stream.read(1, one.head) == two.stream.read(1, two.head)
    assert [m["seq"] for m in messages(one)] == list(range(1, one.head + 1))


def test_the_snapshot_is_the_state_at_its_seq() -> None:
    projection, stream = folded("news-signals")
    first, subscription = stream.open(projection, None)
    assert first is not None
    snap = json.loads(first)
    assert snap["type"] == public.SNAPSHOT
    assert snap["seq"] == stream.head
    assert subscription.next_seq == stream.head + 1
    data = snap["data"]
    assert data["log_seq"] == projection.applied_seq
    books = {b["instrument_id"]: b for b in data["books"]}
    assert books.keys() == projection.instruments.keys()
    assert books["SPX_4400_CALL"] == public.book(projection, "SPX_4400_CALL")
    assert data["leaderboard"] == public.leaderboard(projection)
    assert 0 < len(data["trades"]) <= 50
    # each team's P&L so far, for the race of a page opened late: bounded, ending now
    teams = projection.scorer.teams
    assert data["history"].keys() == teams.keys()
    for team_id, points in data["history"].items():
        assert 0 < len(points) <= public.HISTORY_POINTS + 1
        assert points[-1][0] == teams[team_id].series.tick[-1]


async def test_resume_replays_history_then_goes_live() -> None:
    projection, stream = folded("news-signals")
    head = stream.head
    _, subscription = stream.open(projection, head - 5)
    seqs = [(await subscription.next())[0] for _ in range(5)]
    assert seqs == list(range(head - 4, head + 1))
    assert not subscription.live
    with trio.move_on_after(0.01):
        await subscription.next()  # at the head: it turns live and waits
    assert subscription.live


def test_a_resume_older_than_the_history_or_past_the_head_is_refused() -> None:
    projection, stream = folded("news-signals", history=20)
    assert stream.head > 40
    with pytest.raises(SnapshotRequired):
        stream.open(projection, 1)
    with pytest.raises(SnapshotRequired):
        stream.open(projection, stream.head + 1)
    stream.open(projection, stream.head - 10)  # within the history


def test_a_private_leaderboard_stays_off_the_public_stream() -> None:
    projection = Projection()
    with logmod.open_reader(REPLAYS / "news-signals" / "log") as reader:
        records = list(reader.read(1))
    projection.fold(records[0])
    projection.scorer.settings = type(projection.scorer.settings)(public_leaderboard=False)
    stream = PublicStream(100_000, 64)
    for record in records[1:]:
        projection.fold(record)
        stream.publish(projection, record)
    assert "leaderboard" not in {m["type"] for m in messages(stream)}


def test_bursts_are_at_most_four_a_second_of_log_time_and_lose_nothing() -> None:
    """Gathered, not dropped: every trade reaches the tape once and in order, every
    headline once, ticks only move forward, bursts are ``PERIOD_NS`` of log time apart."""
    with logmod.open_reader(REPLAYS / "news-signals" / "log") as reader:
        records = list(reader.read(1))
    _, stream = folded("news-signals")
    sent = messages(stream)
    bursts = sorted({m["timestamp"] for m in sent if m["type"] != "phase"})
    stamps = [r.ts for r in records if isinstance(r, Command) and r.ts]
    assert len(bursts) <= 1 + (max(stamps) - min(stamps)) // PERIOD_NS
    trade_ids = [t["trade_id"] for m in sent if m["type"] == "trades" for t in m["data"]["trades"]]
    assert trade_ids == [r.trade_id for r in records if isinstance(r, Trade)]
    headlines = [m["data"]["headline"] for m in sent if m["type"] == "news"]
    assert headlines == [r.headline for r in records if isinstance(r, News)]
    ticks = [m["data"]["tick_number"] for m in sent if m["type"] == "tick"]
    assert ticks
    assert ticks == sorted(set(ticks))


def test_pages_write_on_a_fixed_grid_each_at_its_own_phase() -> None:
    from gateway.web.public_ws import PHASES, _slot

    interval = 0.25
    phase = interval * 7 / PHASES
    # strictly after now, on the page's grid, whatever woke it
    for now in (0.0, phase, phase + 1e-9, 3.1, 3.1 + interval, 1000.123):
        slot = _slot(now, interval, phase)
        assert now < slot <= now + interval + 1e-9
        k = (slot - phase) / interval
        assert abs(k - round(k)) < 1e-6
    # pages opened one after another are spread through the interval, not in step
    slots = {round(_slot(10.0, interval, interval * i / PHASES) % interval, 9)
             for i in range(PHASES)}  # fmt: skip
    assert len(slots) == PHASES
