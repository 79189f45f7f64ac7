"""The session's expiry date and the reference docs' long instrument ids."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from engine import config as configmod
from engine import instruments

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def ts(year: int, month: int, day: int, hour: int = 10) -> int:
    moment = datetime.datetime(year, month, day, hour, tzinfo=CHICAGO)
    return int(moment.timestamp()) * 1_000_000_000


@pytest.mark.parametrize(
    ("start", "days", "expiry"),
    [
        (ts(2024, 3, 11), 5.0, datetime.date(2024, 3, 15)),  # Monday -> that Friday
        (ts(2024, 3, 13), 5.0, datetime.date(2024, 3, 19)),  # Wednesday -> next Tuesday
        (ts(2024, 3, 16), 5.0, datetime.date(2024, 3, 22)),  # a Saturday start trades Monday
        (ts(2024, 3, 11), 0.05, datetime.date(2024, 3, 11)),  # expires the day it starts
        (ts(2024, 3, 11), 1.5, datetime.date(2024, 3, 12)),
        # 23:30 in Chicago is already the next day in UTC: the schedule's zone decides
        (ts(2024, 3, 11, 23), 1.0, datetime.date(2024, 3, 11)),
    ],
)
def test_the_expiry_counts_trading_days_from_the_start(
    start: int, days: float, expiry: datetime.date
) -> None:
    config = configmod.load(None, instruments={"expiry_days": days})
    assert instruments.expiry_date(config, start) == expiry


CATALOG = instruments.build(configmod.Config())
EXPIRY = datetime.date(2024, 3, 15)


def test_canonical_ids_and_long_forms_of_this_expiry_resolve_to_the_canonical_id() -> None:
    assert instruments.resolve(CATALOG, EXPIRY, "SPX_4500_CALL") == "SPX_4500_CALL"
    assert instruments.resolve(CATALOG, EXPIRY, "SPX_CALL_4500_20240315") == "SPX_4500_CALL"
    assert instruments.resolve(CATALOG, EXPIRY, "SPY_PUT_440_20240315") == "SPY_440_PUT"
    assert instruments.resolve(CATALOG, EXPIRY, "SPX") == "SPX"
    for inst in CATALOG.values():
        alias = instruments.long_id(inst, EXPIRY)
        if inst.is_option:
            assert alias is not None
            assert instruments.resolve(CATALOG, EXPIRY, alias) == inst.id
        else:
            assert alias is None


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("SPX_CALL_4500_20240322", "expires on 20240315; send SPX_4500_CALL"),
        ("SPX_CALL_4550_20240315", "no option SPX_4550_CALL"),
        ("SPX_CALL_4500", "instrument ids look like SPX_4500_CALL"),
        ("spx_call_4500_20240315", "instrument ids look like SPX_4500_CALL"),
        ("AAPL_CALL_150_20240315", "no option AAPL_150_CALL"),
    ],
)
def test_other_ids_are_unknown_with_a_hint(given: str, hint: str) -> None:
    with pytest.raises(instruments.UnknownInstrument) as caught:
        instruments.resolve(CATALOG, EXPIRY, given)
    assert hint in caught.value.hint


def test_without_a_known_expiry_only_canonical_ids_resolve() -> None:
    assert instruments.resolve(CATALOG, None, "SPX_4500_CALL") == "SPX_4500_CALL"
    with pytest.raises(instruments.UnknownInstrument, match="no known expiry"):
        instruments.resolve(CATALOG, None, "SPX_CALL_4500_20240315")
