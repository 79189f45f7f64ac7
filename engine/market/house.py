"""The house liquidity provider: a two-sided quote around fair value on every instrument.

Half spread ``max(min_half_spread, fair * half_spread_bps / 10_000)`` cents, capped so the
spread stays within the core's quote rule (spread <= 10% of mid). A symmetric quote a
cent or more either side of fair needs a fair value of 20 cents, so the house leaves
cheaper instruments alone (a far-out-of-the-money option is worth next to nothing).
A quote replaces the house's previous one on its instrument, so re-quoting every tick
follows fair value.
"""

from __future__ import annotations

from engine.config import HouseConfig
from engine.market import SimQuote

HOUSE = "TEAM_HOUSE"


def quote(config: HouseConfig, instrument_id: str, fair: int) -> SimQuote | None:
    half = max(config.min_half_spread, fair * config.half_spread_bps // 10_000, 1)
    half = min(half, fair // 20)  # (2 * half) * 20 <= 2 * fair: spread <= 10% of mid
    bid, ask = fair - half, fair + half
    if half < 1 or bid < 1 or config.size < 1:
        return None
    return SimQuote(
        team_id=HOUSE,
        instrument_id=instrument_id,
        bid_price=bid,
        bid_size=config.size,
        ask_price=ask,
        ask_size=config.size,
    )


def quotes(config: HouseConfig, fair: dict[str, int]) -> tuple[SimQuote, ...]:
    out = (quote(config, iid, value) for iid, value in fair.items())
    return tuple(q for q in out if q is not None)
