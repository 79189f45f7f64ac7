"""The opening auction: one clearing price per instrument, then one batch of fills.

The price maximises matched volume; ties go to the smallest imbalance, then to the
price closest to the reference (the model's fair value, else the last trade), then to
the lower price. Fills follow price-time priority on both sides, all at that price;
in each fill the order that arrived first is the maker.
"""

from __future__ import annotations

from engine.core.book import Book


def clearing_price(book: Book, reference: int | None) -> tuple[int, int] | None:
    """(price, matched volume) of the uncross, or None when nothing crosses."""
    if not book.crossed():
        return None
    bids = [(p, sum(o.remaining for o in book.bids.levels[p].values())) for p in book.bids.prices]
    asks = [(p, sum(o.remaining for o in book.asks.levels[p].values())) for p in book.asks.prices]
    candidates = sorted({p for p, _ in bids} | {p for p, _ in asks})
    best: tuple[int, int, int, int] | None = None  # (-volume, imbalance, distance, price)
    for price in candidates:
        demand = sum(q for p, q in bids if p >= price)
        supply = sum(q for p, q in asks if p <= price)
        volume = min(demand, supply)
        if volume == 0:
            continue
        distance = abs(price - reference) if reference is not None else 0
        key = (-volume, abs(demand - supply), distance, price)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    return best[3], -best[0]
