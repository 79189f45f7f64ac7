"""The volatility regime path and the news, drawn ``horizon`` ticks ahead.

A hedge fund's forecast is made 1-5 ticks *before* a regime changes, so the future must
exist before it happens: the timeline keeps a queue of the next ``horizon`` ticks, each
with its regime and its headline (if any). Each tick pops the present and draws one more
tick at the far end. A headline's regime shift is part of the path like a Markov
transition, so forecasts cover both and are never invalidated by news.

Per drawn tick: first the news (from the regime before that tick); a regime-shift
headline sets the regime to a different one, otherwise the regime makes its Markov step.
"""

from __future__ import annotations

from collections import deque
from random import Random
from typing import TYPE_CHECKING

import msgspec

from engine.config import RegimeConfig

if TYPE_CHECKING:
    from engine.market.news import Draft, NewsDesk

#: The regimes in the order of the columns of ``regimes.transitions``.
REGIMES = ("low", "medium", "high")


class Step(msgspec.Struct, frozen=True, kw_only=True):
    tick: int
    regime: str  # in force during this tick
    news: Draft | None = None


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """The regime becomes ``after`` at ``tick`` (it was ``before`` the tick before)."""

    tick: int
    before: str
    after: str


def markov_step(config: RegimeConfig, regime: str, u: float) -> str:
    acc = 0.0
    for name, p in zip(REGIMES, config.transitions[regime], strict=True):
        acc += p
        if u < acc:
            return name
    return regime  # rounding left a sliver above the last cumulative sum: stay


class Timeline:
    def __init__(self, config: RegimeConfig, desk: NewsDesk, rng: Random, horizon: int) -> None:
        self.config = config
        self.desk = desk
        self.rng = rng
        self.horizon = max(horizon, 1)
        self.regime = config.initial  # in force now (before tick 1: the initial one)
        self.tick = 0
        self.ahead: deque[Step] = deque()
        self.changes: list[Change] = []  # drawn but not yet taken by the forecaster
        while len(self.ahead) < self.horizon:
            self._draw()

    def _draw(self) -> None:
        last = self.ahead[-1] if self.ahead else None
        before = last.regime if last is not None else self.regime
        tick = (last.tick if last is not None else self.tick) + 1
        news = self.desk.draw(self.rng, before)
        u = self.rng.random()  # always drawn: the stream does not depend on the news
        if news is not None and news.new_regime is not None:
            after = news.new_regime
        else:
            after = markov_step(self.config, before, u)
        self.ahead.append(Step(tick=tick, regime=after, news=news))
        if after != before:
            self.changes.append(Change(tick=tick, before=before, after=after))

    def advance(self) -> Step:
        """Move to the next tick: its step becomes the present and one more is drawn."""
        step = self.ahead.popleft()
        self.tick, self.regime = step.tick, step.regime
        self._draw()
        return step

    def take_changes(self) -> list[Change]:
        out, self.changes = self.changes, []
        return out
