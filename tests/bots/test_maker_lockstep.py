"""The example market maker meets its requirement (docs/scoring.md: uptime over every
rolling window) in heats of 60 continuous demo ticks, in lockstep with the pure core
(tests/bots/lockstep.py): the real market model, the house and the retail flow, a seed
per heat. Issue 32: under the 10%-of-mid quote rule it could not quote the cheap
options at all and met it in none of these heats (uptime 0.67-0.82)."""

from __future__ import annotations

import pytest
from tradepit.examples import market_maker

from gateway import scoring
from tests.bots.lockstep import run_maker

HEATS = range(1, 21)
TICKS = 60


@pytest.mark.parametrize("seed", HEATS)
def test_the_example_maker_meets_its_requirement_in_a_60_tick_heat(seed: int) -> None:
    session = run_maker(seed, TICKS, market_maker.step)
    scorer = session.scorer()
    [row] = scoring.leaderboard(scorer)["roles"]["market_maker"]
    assert row["kpis"]["uptime"] >= 0.85, row["kpis"]
    assert (row["requirements_met"], row["kpis"]["breaches"]) == (True, 0), row["kpis"]
    assert row["rank"] == 1
    assert row["ticks"] == TICKS + 3  # pre-open, auction and continuous ticks all sampled


def test_every_instrument_is_quoted_whatever_its_price() -> None:
    """The maker's own rule has a quote at every fair value: a cent wide at worst."""
    for cents in [0, 1, 4, 5, 9, 10, 19, 20, 99, 100, 101, 250, 1_000, 440_000]:
        fair = cents / 100
        for position in (-50, -7, 0, 7, 50):
            bid, ask = market_maker.prices(fair, position)
            assert 0.01 <= bid < ask
            assert ask - bid <= market_maker.widest(bid, ask) + 1e-9, (fair, position, bid, ask)
