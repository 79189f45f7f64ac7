"""How wide a two-sided quote may be, stated once.

The core refuses a wider quote (``engine/core/rules.py``, ``quote_fields``) and the
scorer counts a market maker's resting bid and ask as a *good quote* only within it
(``gateway/scoring/kpis.py``), so a quote the exchange accepts is always one the
scorer counts, and the other way round.

A quote's spread may be the larger of

- ``[quotes] max_spread_bps`` of its mid (1000: 10%), and
- the width of the first row of ``[quotes] widths`` whose ``below`` exceeds its bid,

as options exchanges state their market makers' obligations: a width table by price.
Ten percent alone cannot be met on a cheap option (a one-cent spread is over 10% of any
mid under ten cents), so the table gives cheap prices an absolute width; a config whose
rule leaves some price with no valid one-tick quote is refused at start (``gap``).
Integer cents throughout: ``spread * 10_000 <= bps * mid`` is ``spread * 20_000 <= bps *
(ask + bid)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the config checks its rule with ``gap``: no import cycle at run time
    from engine.config import QuotesConfig


def table_width(bid: int, rule: QuotesConfig) -> int:
    """The width table's allowance for a quote with this bid (0 beyond its last row)."""
    for row in rule.widths:
        if bid < row.below:
            return row.spread
    return 0


def widest(bid: int, ask: int, rule: QuotesConfig) -> int:
    """The widest spread, in cents, allowed to a quote at this bid and ask."""
    return max(rule.max_spread_bps * (ask + bid) // 20_000, table_width(bid, rule))


def allows(bid: int, ask: int, rule: QuotesConfig) -> bool:
    """A valid width: the bid below the ask, at most ``widest`` apart.

    ``s <= floor(x)`` is ``s <= x`` for an integer spread ``s``, so the floor in
    ``widest`` loses nothing."""
    return ask > bid and ask - bid <= widest(bid, ask, rule)


def gap(rule: QuotesConfig, tick: int) -> int | None:
    """The lowest bid (a positive multiple of ``tick``) at which even a one-tick quote is
    refused, or None when every price can be quoted. Rows ascend by ``below``."""
    start = 0
    segments = [(row.below, row.spread) for row in rule.widths]
    for end, width in [*segments, (None, 0)]:  # beyond the last row: the share alone
        first = max(-(-start // tick) * tick, tick)  # the segment's first bid on the grid
        # the share of the mid grows with the bid: the segment's first bid is its worst
        if (
            (end is None or first < end)
            and width < tick
            and rule.max_spread_bps * (2 * first + tick) < 20_000 * tick
        ):
            return first
        if end is not None:
            start = max(start, end)
    return None
