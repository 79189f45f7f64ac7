"""Read views of the projected state: what REST answers and snapshots are made of.

A mixin of ``Projection``: it reads the fields the fold maintains and never writes them.
"""

from __future__ import annotations

from typing import Any

from engine.config import Config
from engine.instruments import Instrument
from engine.records import MarketData
from gateway.projection.entities import Book, OpenOrder, TeamState
from gateway.projection.messages import dollars, iso_timestamp


class Views:
    config: Config
    instruments: dict[str, Instrument]
    teams: dict[str, TeamState]
    _by_key_hash: dict[str, TeamState]
    orders: dict[str, OpenOrder]
    books: dict[str, Book]
    last_price: dict[str, int]
    marks: dict[str, int]
    market: dict[str, MarketData]
    applied_seq: int
    tick_number: int
    phase: str

    def team(self, team_id: str) -> TeamState | None:
        return self.teams.get(team_id)

    def team_for_key_hash(self, key_hash: str) -> TeamState | None:
        return self._by_key_hash.get(key_hash)

    def stream_head(self, team_id: str) -> int:
        team = self.teams.get(team_id)
        return team.seq if team is not None else 0

    def mark(self, instrument_id: str) -> int | None:
        """Model fair value, else the last trade, else the book's mid."""
        if instrument_id in self.marks:
            return self.marks[instrument_id]
        if instrument_id in self.last_price:
            return self.last_price[instrument_id]
        book = self.books.get(instrument_id)
        if book is not None and book.bids and book.asks:
            return (max(book.bids) + min(book.asks)) // 2
        return None

    def pnl(self, team: TeamState) -> int:
        value = team.cash
        for instrument_id, quantity in team.positions.items():
            inst = self.instruments.get(instrument_id)
            mark = self.mark(instrument_id)
            if mark is not None:
                value += quantity * mark * (inst.multiplier if inst is not None else 1)
        return value

    def snapshot(self, team_id: str) -> dict[str, Any]:
        """The ``position_snapshot`` data: positions as ``{instrument_id: quantity}``."""
        team = self.teams[team_id]
        return {
            "team_id": team.team_id,
            "role": team.role,
            "positions": dict(team.positions),
            "cash": team.cash / 100,
            "fees": team.fees / 100,
            "pnl": self.pnl(team) / 100,
            "open_orders": [o.view() for o in team.orders.values()],
            "tick_number": self.tick_number,
            "phase": self.phase,
        }

    def positions_view(self, team_id: str) -> dict[str, Any]:
        team = self.teams[team_id]
        details = []
        for instrument_id, quantity in team.positions.items():
            inst = self.instruments.get(instrument_id)
            mark = self.mark(instrument_id)
            multiplier = inst.multiplier if inst is not None else 1
            details.append(
                {
                    "instrument_id": instrument_id,
                    "quantity": quantity,
                    "mark": dollars(mark),
                    "market_value": None if mark is None else quantity * mark * multiplier / 100,
                }
            )
        return {
            "team_id": team.team_id,
            "positions": dict(team.positions),
            "details": details,
            "cash": team.cash / 100,
            "fees": team.fees / 100,
            "pnl": self.pnl(team) / 100,
            "total_position": sum(abs(q) for q in team.positions.values()),
            "trades": team.trades,
            "volume": team.volume,
        }

    def open_orders(self, team_id: str, instrument_id: str | None = None) -> list[dict[str, Any]]:
        team = self.teams[team_id]
        return [
            o.view()
            for o in team.orders.values()
            if instrument_id is None or o.instrument_id == instrument_id
        ]

    def book_view(self, instrument_id: str, depth: int = 5) -> dict[str, Any]:
        book = self.books.get(instrument_id) or Book()
        top = book.top(depth)
        md = self.market.get(instrument_id)
        return {
            "instrument_id": instrument_id,
            **top,
            "last": dollars(self.last_price.get(instrument_id)),
            "mark": dollars(self.mark(instrument_id)),
            "fair": dollars(md.fair) if md is not None else None,
            "seq": self.applied_seq,
        }

    def instruments_view(self) -> list[dict[str, Any]]:
        return [
            {
                "instrument_id": i.id,
                "underlying": i.underlying,
                "kind": i.kind,
                "strike": dollars(i.strike),
                "multiplier": i.multiplier,
                "tick_size": self.config.instruments.tick / 100,
                "mark": dollars(self.mark(i.id)),
            }
            for i in self.instruments.values()
        ]

    def team_view(self, team_id: str) -> dict[str, Any]:
        team = self.teams[team_id]
        return {
            "team_id": team.team_id,
            "team_name": team.team_name,
            "role": team.role,
            "created_at": iso_timestamp(team.registered_ts),
        }
