"""A market view for simulation tests: an empty book, every team flat (or at ``total``)."""

from __future__ import annotations


class FlatView:
    def __init__(self, total: int = 0) -> None:
        self.total = total

    def best_bid(self, instrument_id: str) -> tuple[int, int] | None:
        return None

    def best_ask(self, instrument_id: str) -> tuple[int, int] | None:
        return None

    def position(self, team_id: str, instrument_id: str) -> int:
        return 0

    def total_position(self, team_id: str) -> int:
        return self.total
