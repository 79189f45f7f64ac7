"""The headline table: SPEC's mix of kinds and each headline's published odds, both."""

from __future__ import annotations

from collections import Counter
from random import Random

import pytest

from engine.config import NewsConfig, load
from engine.market.news import EFFECTS, NewsDesk, max_entropy_weights

OTHERS = ["low", "high"]


def joint(desk: NewsDesk) -> dict[tuple[str, str], float]:
    out, previous = {}, 0.0
    for entry, cum in zip(desk.entries, desk.cum_weights, strict=True):
        out[entry] = cum - previous
        previous = cum
    return out


def test_the_table_gives_the_configured_mix_and_each_headlines_published_odds() -> None:
    config = load(None).news
    table = joint(NewsDesk(config, 60.0))
    for effect, share in (("regime_shift", 0.4), ("price_jump", 0.3), ("none", 0.3)):
        assert sum(p for (_, e), p in table.items() if e == effect) == pytest.approx(share)
    for h in config.headlines:
        p_headline = sum(p for (text, _), p in table.items() if text == h.text)
        assert p_headline > 0  # every headline can be read
        shift = table.get((h.text, "regime_shift"), 0.0) / p_headline
        jump = table.get((h.text, "price_jump"), 0.0) / p_headline
        assert shift == pytest.approx(h.regime_shift)
        assert jump == pytest.approx(h.jump)


def test_drawn_headlines_follow_the_table() -> None:
    desk, rng = NewsDesk(load(None, news={"mean_gap_sim_seconds": 120.0}).news, 60.0), Random(3)
    draws = [d for d in (desk.draw(rng, OTHERS) for _ in range(100_000)) if d is not None]
    assert len(draws) / 100_000 == pytest.approx(desk.p_arrival, rel=0.05)
    kinds = Counter(d.effect for d in draws)
    assert kinds["regime_shift"] / len(draws) == pytest.approx(0.4, abs=0.03)
    assert kinds["price_jump"] / len(draws) == pytest.approx(0.3, abs=0.03)
    fed = [d for d in draws if d.headline == "Fed hints at tightening"]
    assert sum(d.effect == "regime_shift" for d in fed) / len(fed) == pytest.approx(0.6, abs=0.1)
    for d in draws:
        if d.effect == "regime_shift":
            assert d.new_regime in OTHERS
        elif d.effect == "price_jump":
            assert 0.005 <= abs(d.jump) <= 0.02
        else:
            assert (d.new_regime, d.jump) == (None, 0.0)


def test_a_mix_the_headlines_cannot_reach_falls_back_to_kind_first() -> None:
    config = NewsConfig(kind_weights={"regime_shift": 0.95, "price_jump": 0.05, "none": 0.0})
    assert (
        max_entropy_weights([(h.regime_shift, h.jump) for h in config.headlines], (0.95, 0.05))
        is None
    )
    table = joint(NewsDesk(config, 60.0))
    for effect, share in zip(EFFECTS, (0.95, 0.05, 0.0), strict=True):
        assert sum(p for (_, e), p in table.items() if e == effect) == pytest.approx(share)


def test_no_arrivals_without_news() -> None:
    desk = NewsDesk(NewsConfig(mean_gap_sim_seconds=0.0), 60.0)
    assert desk.p_arrival == 0.0
    assert all(desk.draw(Random(1), OTHERS) is None for _ in range(100))
