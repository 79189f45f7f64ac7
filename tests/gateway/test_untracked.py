"""What a busy book holds by the tens of thousands stays out of the cyclic collector.

A gateway walked every resting order in each full collection: 4 -> 21 ms as a bench's
wrk bot rested ~28k orders, and every order in flight waited through each. ``OpenOrder``
and ``Resting`` hold scalars only, so they are ``gc=False`` structs; a container field
added to either would bring the walk back, and fails here.
"""

from __future__ import annotations

import gc

from gateway.projection.entities import OpenOrder
from gateway.scoring.team_score import Resting


def test_resting_orders_are_not_tracked_nor_are_the_dicts_that_hold_only_them() -> None:
    order = OpenOrder("ORD_1", "TEAM_0001", "SPX_4200_PUT", "buy", "limit", 5, 5, 100, None,
                      False, 1)  # fmt: skip
    resting = Resting("SPX_4200_PUT", True, 100, 5, 7)
    assert not gc.is_tracked(order)
    assert not gc.is_tracked(resting)
    held = {"ORD_1": order}
    gc.collect()  # CPython untracks a dict of untracked values at its first collection
    assert not gc.is_tracked(held)
    order.remaining = 0  # still mutable: the fold fills them in place
    assert order.status == "filled"
