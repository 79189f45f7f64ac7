"""News: when a headline arrives, which one, and what it does to the market.

Theory of operation. docs/rules.md (The simulation) gives two things that must both
hold: the mix of kinds (regime shift 40%, price jump 30%, no effect 30%) and, per
headline, its published probabilities of a regime shift and of a jump. So a headline is
chosen first and its effect is then drawn with *its* probabilities (shift with
``regime_shift``, jump with ``jump``, otherwise none), and the headlines' weights are
chosen so that the resulting mix of kinds is exactly the configured one. Many weightings
do that; we take the one of maximum entropy (``w_h`` proportional to ``exp(a * shift_h +
b * jump_h)``, solved by Newton's method at start), which spreads arrivals over as many
headlines as possible. If the configured mix cannot be reached with the configured
headlines (it lies outside what any weighting gives), we fall back to drawing the kind
first with the configured mix and then a headline in proportion to its probability of
that kind.

Arrivals: a Bernoulli draw per tick with ``p = 1 - exp(-tick / mean_gap)``, the
discrete-time Poisson process (at most one headline per tick), so the mean gap is the
configured one to within half a tick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from random import Random

import msgspec

from engine.config import Headline, NewsConfig

EFFECTS = ("regime_shift", "price_jump", "none")


class Draft(msgspec.Struct, frozen=True, kw_only=True):
    """A headline drawn ahead of time; the jump is a signed fraction of SPX."""

    headline: str
    effect: str  # one of EFFECTS
    new_regime: str | None = None
    jump: float = 0.0


def _effect_probs(h: Headline) -> tuple[float, float, float]:
    shift, jump = max(h.regime_shift, 0.0), max(h.jump, 0.0)
    if shift + jump > 1.0:  # a headline's effects exclude each other
        shift, jump = shift / (shift + jump), jump / (shift + jump)
    return shift, jump, 1.0 - shift - jump


def max_entropy_weights(
    points: list[tuple[float, float]], target: tuple[float, float]
) -> list[float] | None:
    """Weights w (sum 1) of maximum entropy with sum w*x = target, or None if unreachable."""
    a = b = 0.0
    tx, ty = target

    def moments(a: float, b: float) -> tuple[float, list[float]]:
        exps = [a * x + b * y for x, y in points]
        top = max(exps)
        raw = [math.exp(e - top) for e in exps]
        total = sum(raw)
        return top + math.log(total), [r / total for r in raw]

    log_z, w = moments(a, b)
    for _ in range(200):
        mx = sum(wi * x for wi, (x, _y) in zip(w, points, strict=True))
        my = sum(wi * y for wi, (_x, y) in zip(w, points, strict=True))
        gx, gy = mx - tx, my - ty
        if abs(gx) < 1e-12 and abs(gy) < 1e-12:
            return w
        sxx = sum(wi * (x - mx) ** 2 for wi, (x, _y) in zip(w, points, strict=True))
        syy = sum(wi * (y - my) ** 2 for wi, (_x, y) in zip(w, points, strict=True))
        sxy = sum(wi * (x - mx) * (y - my) for wi, (x, y) in zip(w, points, strict=True))
        det = sxx * syy - sxy * sxy
        if det <= 1e-18:
            return None
        da, db = -(syy * gx - sxy * gy) / det, -(sxx * gy - sxy * gx) / det
        dual = log_z - a * tx - b * ty
        step = 1.0
        while step > 1e-9:  # backtracking: the dual is convex, so some step decreases it
            log_z2, w2 = moments(a + step * da, b + step * db)
            if log_z2 - (a + step * da) * tx - (b + step * db) * ty <= dual:
                break
            step /= 2
        else:
            return None
        a, b, log_z, w = a + step * da, b + step * db, log_z2, w2
    return None


class NewsDesk:
    """Draws at most one headline per tick from the world's RNG."""

    def __init__(self, config: NewsConfig, sim_seconds_per_tick: float) -> None:
        self.config = config
        gap = config.mean_gap_sim_seconds
        self.p_arrival = 1.0 - math.exp(-sim_seconds_per_tick / gap) if gap > 0 else 0.0
        self.entries, self.cum_weights = self._table(config)

    @staticmethod
    def _table(config: NewsConfig) -> tuple[list[tuple[str, str]], list[float]]:
        """(headline, effect) pairs and their cumulative probabilities (see the module doc)."""
        probs = [_effect_probs(h) for h in config.headlines]
        kinds = [max(config.kind_weights.get(k, 0.0), 0.0) for k in EFFECTS]
        total = sum(kinds) or 1.0
        mix = [k / total for k in kinds]
        weights = max_entropy_weights([(s, j) for s, j, _n in probs], (mix[0], mix[1]))
        entries: list[tuple[str, str]] = []
        joint: list[float] = []
        for i, (h, p) in enumerate(zip(config.headlines, probs, strict=True)):
            for k, effect in enumerate(EFFECTS):
                if weights is not None:
                    value = weights[i] * p[k]
                else:
                    kind_total = sum(q[k] for q in probs)
                    value = mix[k] * p[k] / kind_total if kind_total > 0 else 0.0
                if value > 0.0:
                    entries.append((h.text, effect))
                    joint.append(value)
        cum, acc = [], 0.0
        for value in joint:
            acc += value
            cum.append(acc)
        return entries, cum

    def draw(self, rng: Random, others: Sequence[str]) -> Draft | None:
        """The headline of one tick, if any; a regime shift picks one of ``others``."""
        if rng.random() >= self.p_arrival or not self.entries:
            return None
        text, effect = rng.choices(self.entries, cum_weights=self.cum_weights)[0]
        if effect == "regime_shift":
            return Draft(headline=text, effect=effect, new_regime=rng.choice(others))
        if effect == "price_jump":
            size = rng.uniform(self.config.jump_min, self.config.jump_max)
            return Draft(headline=text, effect=effect, jump=-size if rng.random() < 0.5 else size)
        return Draft(headline=text, effect=effect)
