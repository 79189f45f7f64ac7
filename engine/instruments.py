"""The tradable instruments from the config: underlyings, and a call and a put per strike."""

from __future__ import annotations

import datetime
import math
import re
import zoneinfo
from collections.abc import Mapping
from typing import Literal

import msgspec

from engine.config import Config

Kind = Literal["underlying", "call", "put"]


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    underlying: str
    kind: Kind
    strike: int | None = None  # cents
    multiplier: int = 1

    @property
    def is_option(self) -> bool:
        return self.kind != "underlying"


def build(config: Config) -> dict[str, Instrument]:
    """Instruments in a fixed order: each underlying, then its calls and puts by strike."""
    out: dict[str, Instrument] = {}
    mult = config.instruments.option_multiplier
    for u in config.instruments.underlyings:
        out[u.id] = Instrument(id=u.id, underlying=u.id, kind="underlying")
        for kind in ("call", "put"):
            for strike in u.strikes:
                iid = f"{u.id}_{strike}_{kind.upper()}"
                out[iid] = Instrument(
                    id=iid, underlying=u.id, kind=kind, strike=strike * 100, multiplier=mult
                )
    return out


# The reference docs of the origin project name options in a long form,
# ``{UNDERLYING}_{CALL|PUT}_{STRIKE}_{YYYYMMDD}``; bots written from them send it.
_LONG_ID = re.compile(r"([A-Z][A-Z0-9]*)_(CALL|PUT)_(\d+)_(\d{8})")


def expiry_date(config: Config, start_ts: int) -> datetime.date:
    """The session's option expiry: ``expiry_days`` trading days from the start, inclusive.

    The start is the session's first record (``StartSession.ts``, nanoseconds), read in the
    schedule's time zone, so a resumed or replayed session keeps its date. The first
    trading day is the start date, or the next weekday when it falls on a weekend; the
    expiry is ``ceil(expiry_days) - 1`` weekdays after it (a Monday start with the default
    5 days expires on that Friday).
    """
    zone = zoneinfo.ZoneInfo(config.schedule.timezone)
    day = datetime.datetime.fromtimestamp(start_ts // 1_000_000_000, zone).date()
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    for _ in range(max(math.ceil(config.instruments.expiry_days), 1) - 1):
        day += datetime.timedelta(days=1)
        while day.weekday() >= 5:
            day += datetime.timedelta(days=1)
    return day


def long_id(instrument: Instrument, expiry: datetime.date) -> str | None:
    """An option's id in the reference docs' long form; None for an underlying."""
    if instrument.strike is None or instrument.strike % 100:
        return None
    return (
        f"{instrument.underlying}_{instrument.kind.upper()}_{instrument.strike // 100}_"
        f"{expiry:%Y%m%d}"
    )


class UnknownInstrument(ValueError):
    """``given`` names no instrument of the session; ``hint`` says what to send instead."""

    def __init__(self, given: str, hint: str) -> None:
        super().__init__(hint)
        self.given = given
        self.hint = hint


def resolve(instruments: Mapping[str, Instrument], expiry: datetime.date | None, given: str) -> str:
    """The canonical id ``given`` names: itself, or the option a long-form alias names.

    A long form is accepted only with the session's expiry date (there is one expiry), so
    a bot with a stale date learns it instead of trading something it did not mean.
    """
    if given in instruments:
        return given
    match = _LONG_ID.fullmatch(given)
    if match is None:
        raise UnknownInstrument(given, "instrument ids look like SPX_4500_CALL")
    underlying, kind, strike, date = match.groups()
    canonical = f"{underlying}_{int(strike)}_{kind}"
    if canonical not in instruments:
        raise UnknownInstrument(given, f"no option {canonical} in this session")
    if expiry is None or date != f"{expiry:%Y%m%d}":
        when = "has no known expiry date" if expiry is None else f"expires on {expiry:%Y%m%d}"
        raise UnknownInstrument(given, f"this session's {canonical} {when}; send {canonical}")
    return canonical
