"""The tradable instruments from the config: underlyings, and a call and a put per strike."""

from __future__ import annotations

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
