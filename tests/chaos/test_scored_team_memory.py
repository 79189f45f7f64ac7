"""What an idle team costs a gateway over a 6-hour day *with scoring on* (issue 38, item 5).

``test_team_memory.py`` has no scoring in its log: no ``underlying_prices``, so no tick
sample, no ``score_update`` and no leaderboard. Here every tick of the day carries what
the engine writes for one (``clock_tick``, ``tick_started``, ``underlying_prices``),
so every team gets a score row and a ``score_update`` each tick and the public stream a
leaderboard each burst. The log is folded in process by the gateway's own pieces (its
``follow`` loop: ``Projection.fold``, ``Streams.publish``, ``PublicStream.publish``)
and what stays allocated afterwards is counted by ``tracemalloc``: deterministic, and
no waiting for a real day. The same day with one team is the baseline; the difference,
per team, is what an idle team costs.

The suite folds half an hour (``TRADEPIT_DAY_TICKS``, 1,800 ticks: tracemalloc makes
the whole day take 5.5 minutes; ``test_scored_team_rss.py`` runs the whole day in a real
gateway process, without extrapolating) and measures at its half and at its end: an idle team's
cost has reached its plateau by then (its stream is capped in bytes, its score series
stores a column only when it changes), and the test checks that the cost at the end
plus the second half's growth repeated to the sixth hour stays within 1 MB.
``TRADEPIT_DAY_TICKS=21600`` folds the whole day (RELIABILITY.md has its figure);
``test_scored_team_rss.py`` runs the whole day through real gateway processes.

Before: 56 bytes per team per tick of score series and every ``score_update`` kept (the
count limit, ``events_history``, is a million), ~57 KB per team per minute.
"""

from __future__ import annotations

import gc
import os
import tracemalloc

import pytest

from engine import config as configmod
from gateway.replay.paced import ReadOnlyEngine
from gateway.service import Gateway
from gateway.upstream.source import MemoryLog
from tests.chaos.day_log import DAY, scored_day, ticks_up_to

TICKS = int(os.environ.get("TRADEPIT_DAY_TICKS", "1800"))
TEAMS = 5  # every role (the market maker's score moves every tick: a breach penalty)


#: Allocations made on the way through the public stream: its history is one budget in
#: bytes whatever the number of teams, but holds more, smaller messages with one team
#: than with five (a shorter leaderboard), whose overhead would blur the per-team figure.
#: Counted apart; its bytes are checked against their budget below.
PUBLIC = tracemalloc.Filter(True, "*/gateway/service/public_stream.py", all_frames=True)
FRAMES = 12  # deep enough to see public_stream.py above whatever it calls


def retained(teams: int, ticks: int = TICKS) -> tuple[int, int, int, Gateway]:
    """Bytes still allocated once a gateway has folded half the day and the whole day
    (outside the public stream), what the public stream holds at the end, the gateway."""
    records = scored_day(teams, ticks)
    half = ticks_up_to(records, ticks // 2)
    gc.collect()
    tracemalloc.start(FRAMES)
    try:
        before = tracemalloc.take_snapshot()
        gw = Gateway(configmod.Config(), ReadOnlyEngine(), MemoryLog([]))
        projection, streams, public = gw.projection, gw.streams, gw.public
        middle = 0
        for n, record in enumerate(records, 1):  # Gateway.follow, without the I/O
            deliveries = projection.fold(record)
            if deliveries:
                streams.publish(deliveries)
            public.publish(projection, record)
            if n == half:
                middle = _grew(before)
        end = _grew(before)
        by_public = sum(t.size for t in tracemalloc.take_snapshot().filter_traces([PUBLIC]).traces)
    finally:
        tracemalloc.stop()
    return middle, end, by_public, gw


def _grew(before: tracemalloc.Snapshot) -> int:
    """Allocated since ``before`` and still held, outside the public stream."""
    gc.collect()
    now = tracemalloc.take_snapshot()
    grew = sum(s.size_diff for s in now.compare_to(before, "filename"))
    return grew - sum(t.size for t in now.filter_traces([PUBLIC]).traces)


@pytest.mark.slow
def test_an_idle_scored_team_costs_under_1_mb_after_a_6_hour_day() -> None:
    retained(TEAMS, 100)  # warm-up: what the first fold allocates once per process
    one_half, one, _, _ = retained(1)
    many_half, many, by_public, gw = retained(TEAMS)
    projection, streams, public = gw.projection, gw.streams, gw.public
    # the day was scored: a score_update on every team's stream each tick
    assert projection.scorer.tick_number == TICKS
    assert len(projection.scorer.teams["T00000"].series.pnl) == TICKS
    assert streams.head("T00000") >= TICKS
    per_team = (many - one) / (TEAMS - 1)
    per_team_half = (many_half - one_half) / (TEAMS - 1)
    # what the rest of a 6-hour day adds, if each half of this fold's length added as much
    # as the second half did (it adds less: the stream's cap is reached early)
    rest = max(per_team - per_team_half, 0) * (DAY - TICKS) / (TICKS - TICKS // 2)
    kept = sum(len(body) for _, body in public.stream.read(public.stream.first, 10**9))
    print(f"{TICKS} scored ticks: {one / 2**20:.1f} MiB retained with 1 team, "
          f"{many / 2**20:.1f} MiB with {TEAMS}: {per_team / 1024:.1f} KiB per idle team "
          f"({per_team_half / 1024:.1f} at half; a 6-hour day at most "
          f"{(per_team + rest) / 1024:.1f}); "
          f"public history {kept / 1024:.0f} KiB in {public.head - public.stream.first + 1} "
          f"messages, {by_public / 2**20:.1f} MiB allocated by the public stream")  # fmt: skip
    assert per_team + rest <= 1024 * 1024  # the target: <= 1 MB per team over the day
    # the public history (a leaderboard a burst) within its budget
    assert kept <= 8 * 1024 * 1024  # [gateway] public_history_bytes, by default
    assert by_public <= 2 * 8 * 1024 * 1024  # with every message's overhead
