"""The house liquidity provider: a two-sided quote around fair value on every instrument.

Half spread ``max(min_half_spread, fair * half_spread_bps / 10_000)`` cents, capped so the
spread stays within 10% of mid (the share part of the core's quote width rule,
``engine/quote_width.py``, which the config keeps at 10% or more while the house quotes).
A symmetric quote a cent or more either side of fair needs a fair value of 20 cents;
from 10 to 19 cents the house quotes fair / fair + 1 (the narrowest quote); under 10
cents even a one-cent spread is over 10% of such a mid, and the house, which does not
use the width table's allowance for cheap prices (that is the market makers' room),
asks for its quote there to be withdrawn (``TickOutput.withdrawn``): a stale quote at yesterday's
price would give money away. A quote replaces the house's previous one on its
instrument, so re-quoting every tick follows fair value.
"""

from __future__ import annotations

from engine.config import HouseConfig
from engine.market import SimQuote

HOUSE = "TEAM_HOUSE"


def quote(config: HouseConfig, instrument_id: str, fair: int) -> SimQuote | None:
    half = max(config.min_half_spread, fair * config.half_spread_bps // 10_000, 1)
    half = min(half, fair // 20)  # (2 * half) * 20 <= 2 * fair: spread <= 10% of mid
    bid, ask = fair - half, fair + half
    if half < 1:
        bid, ask = fair, fair + 1
    if config.size < 1 or bid < 1 or (ask - bid) * 20 > ask + bid:
        return None
    return SimQuote(
        team_id=HOUSE,
        instrument_id=instrument_id,
        bid_price=bid,
        bid_size=config.size,
        ask_price=ask,
        ask_size=config.size,
    )


def quotes(
    config: HouseConfig, fair: dict[str, int]
) -> tuple[tuple[SimQuote, ...], tuple[str, ...]]:
    """The house's quotes, and the instruments where it can quote nothing valid."""
    out: list[SimQuote] = []
    none: list[str] = []
    for iid, value in fair.items():
        q = quote(config, iid, value)
        if q is None:
            none.append(iid)
        else:
            out.append(q)
    return tuple(out), tuple(none)
