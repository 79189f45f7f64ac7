"""The engine's words a client sees, each stated once with what it means.

The log's types (``engine/records.py``) say which words exist; these tables say what
each one means, and the docs' tables are rendered from them (``tests/docs/extract.py``),
so a new word is one row here and ``python -m tests.docs.extract --write``. A row per
word, in the order the docs list them; the import-time checks below fail when a word
is in the type but not the table, or the other way round.
"""

from __future__ import annotations

from typing import NamedTuple, get_args

from engine.records import CancelReason, Phase

#: ``order_cancelled``'s ``reason``: why an order left the book without filling.
CANCEL_REASONS: dict[CancelReason, str] = {
    "user": "`DELETE /orders/{order_id}`",
    "cancel_all": "`DELETE /orders`; also the house's quotes when an organiser switches it off",
    "replaced": "a new quote replaced this side of the previous one",
    "no_liquidity": "the unfilled rest of a market order",
    "market_close": "the session closed",
    "team_disabled": "an organiser disabled the team",
    "expired": "a simulated retail order, which lives for one tick",
    "out_of_band": "outside the price band: the rest of an order priced through it, or a "
    "resting order the band left behind when fair values moved "
    "([rules.md](rules.md#the-price-band))",
    "self_trade_prevented": "the rest of an order that would have traded with its own team's "
    'order, under `[execution] self_trade = "prevent"`',
}


class PhaseRules(NamedTuple):
    """``takes_orders``: submits, quotes and cancels are accepted (else ``MARKET_CLOSED``;
    which order types, outside continuous trading, is the order-type table's
    ``continuous_only``); ``matching``: how orders meet."""

    takes_orders: bool
    matching: str


#: The session's phases, in the order a trading day passes through them.
PHASES: dict[Phase, PhaseRules] = {
    "closed": PhaseRules(False, "no"),
    "pre_open": PhaseRules(True, "no: orders rest, even when they cross"),
    "opening_auction": PhaseRules(False, "one uncross when the phase begins"),
    "continuous": PhaseRules(True, "price-time priority, immediately on arrival"),
}

#: The phases in which teams (and the simulated flow) may send orders.
OPEN_PHASES: tuple[Phase, ...] = tuple(p for p, rules in PHASES.items() if rules.takes_orders)

assert tuple(CANCEL_REASONS) == get_args(CancelReason), "engine/records.py CancelReason differs"
assert tuple(PHASES) == get_args(Phase), "engine/records.py Phase differs"
