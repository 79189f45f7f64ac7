"""How much a retail team may still order this tick without breaching its position cap.

The core refuses an order when the team's *worst-case* total position (the sum over
instruments of ``max(|pos + resting buys|, |pos - resting sells|)``, the new order
counted) would exceed the role's total limit. Simulated retail orders live one tick, so
at the start of a tick nothing of the team rests and every order of the tick counts as
resting. The budget below is a conservative bound on that sum: an order adds its whole
quantity to the team's exposure, except the part that only unwinds the current position
(selling at most what is held long, buying back at most what is held short), which adds
nothing. So a team at its cap can still trade its way down, and the core never refuses
a retail order for its position.
"""

from __future__ import annotations

from engine.market import MarketView


class Budget:
    """One team's room under ``limit`` during one tick."""

    def __init__(self, view: MarketView, team_id: str, limit: int) -> None:
        self.view = view
        self.team_id = team_id
        self.room = limit - view.total_position(team_id)
        self.unwound: dict[str, int] = {}  # instrument -> quantity already used to unwind

    def fit(self, instrument_id: str, buy: bool, quantity: int) -> int:
        """The largest quantity up to ``quantity`` that stays within the cap."""
        free = self._unwindable(instrument_id, buy)
        return max(min(quantity, free + max(self.room, 0)), 0)

    def take(self, instrument_id: str, buy: bool, quantity: int) -> None:
        free = min(quantity, self._unwindable(instrument_id, buy))
        self.unwound[instrument_id] = self.unwound.get(instrument_id, 0) + free
        self.room -= quantity - free

    def _unwindable(self, instrument_id: str, buy: bool) -> int:
        position = self.view.position(self.team_id, instrument_id)
        if position == 0 or (position > 0) == buy:
            return 0
        return max(abs(position) - self.unwound.get(instrument_id, 0), 0)
