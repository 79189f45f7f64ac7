"""The per-role figures of one tick, as pure functions of a team's state and the marks.

docs/scoring.md, Per role: a market maker's *good quote* on an instrument is both sides resting,
a spread the exchange's quote rule allows (``engine/quote_width.py``: the rule that
admits a quote is the one that counts it) and >= 1 contract a side; coverage is the
share of the instruments it must cover where it holds one. Inventory: net contracts per
product family beyond +-50. A hedge fund's portfolio delta is Black-Scholes delta x
position x multiplier (underlyings count 1 a unit), in SPX terms. An arbitrage desk is
out of balance when the larger family exposure (contracts, in SPX terms) exceeds twice
the smaller.
"""

from __future__ import annotations

from fractions import Fraction

from engine.config import QuotesConfig
from engine.instruments import Instrument
from engine.quote_width import allows
from gateway.scoring.team_score import Quotes


def good_quotes(
    quotes: Quotes, cover: dict[str, int], rule: QuotesConfig, min_size: int
) -> set[str]:
    """The instruments of ``cover`` (id -> any) that hold a good quote among ``quotes``."""
    good: set[str] = set()
    asks = quotes.asks
    for iid, bids in quotes.bids.items():
        offers = asks.get(iid)
        if offers is None or iid not in cover:
            continue
        bid, ask = max(bids), min(offers)
        if bids[bid] >= min_size and offers[ask] >= min_size and bid > 0 and allows(bid, ask, rule):
            good.add(iid)
    return good


def covered(quotes: Quotes, cover: dict[str, int], rule: QuotesConfig, min_size: int) -> int:
    """How many instruments of ``cover`` hold a good quote among ``quotes``."""
    return len(good_quotes(quotes, cover, rule, min_size))


def family_nets(positions: dict[str, int], instruments: dict[str, Instrument]) -> dict[str, int]:
    """Net contracts per product family (underlying), options and underlying together."""
    out: dict[str, int] = {}
    for iid, quantity in positions.items():
        inst = instruments.get(iid)
        family = inst.underlying if inst is not None else iid
        out[family] = out.get(family, 0) + quantity
    return out


def inventory_excess(
    positions: dict[str, int], instruments: dict[str, Instrument], limit: int
) -> int:
    """Net contracts beyond +-limit, summed over the families."""
    return sum(max(0, abs(n) - limit) for n in family_nets(positions, instruments).values())


def portfolio_delta(
    positions: dict[str, int],
    instruments: dict[str, Instrument],
    deltas: dict[str, float],
    weights: dict[str, float],
) -> float:
    total = 0.0
    for iid, quantity in positions.items():
        inst = instruments.get(iid)
        if inst is None:
            continue
        unit = 1.0 if not inst.is_option else deltas.get(iid, 0.0)
        total += quantity * unit * inst.multiplier * weights.get(inst.underlying, 1.0)
    return total


def out_of_balance(
    positions: dict[str, int],
    instruments: dict[str, Instrument],
    weights: dict[str, Fraction],
    max_ratio: Fraction,
) -> bool:
    exposure: dict[str, Fraction] = {}
    for iid, quantity in positions.items():
        inst = instruments.get(iid)
        family = inst.underlying if inst is not None else iid
        exposure[family] = exposure.get(family, Fraction(0)) + abs(quantity) * weights.get(
            family, Fraction(1)
        )
    families = [exposure.get(f, Fraction(0)) for f in weights] or [Fraction(0)]
    larger, smaller = max(families), min(families)
    return larger > 0 and larger > max_ratio * smaller
