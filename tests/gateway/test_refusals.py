"""The server log's refusal lines: one each, at most PER_SECOND a second, then a count."""

from __future__ import annotations

import logging

import pytest

from gateway.web.refusals import RefusalLog


def test_lines_beyond_the_rate_are_counted_and_the_count_is_said_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [100.0]
    refusals = RefusalLog(per_second=3, now=lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger="tradepit.gateway"):
        written = [refusals.refused("a request", f"bad {n}\nsecond line") for n in range(10)]
        clock[0] = 101.2
        assert refusals.refused("a request", "later")
    assert written == [True] * 3 + [False] * 7
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused a request: bad 0 second line",
        "refused a request: bad 1 second line",
        "refused a request: bad 2 second line",
        "refused a request: later (7 more not logged)",
    ]
    assert (refusals.total, refusals.suppressed) == (11, 0)


def test_a_reason_is_cut_to_one_short_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tradepit.gateway"):
        RefusalLog(now=lambda: 0.0).refused("x", "\n".join(["y" * 100] * 50))
    (record,) = caplog.records
    assert "\n" not in record.getMessage()
    assert len(record.getMessage()) <= len("refused x: ") + 200
