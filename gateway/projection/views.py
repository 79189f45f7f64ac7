"""Read views of the projected state: what REST answers and snapshots are made of.

A mixin of ``Projection``: it reads the fields the fold maintains and never writes them.
"""

from __future__ import annotations

import datetime
from typing import Any

from engine import instruments as instrumentsmod
from engine.config import Config
from engine.instruments import Instrument
from engine.money import mark_price, to_dollars
from engine.records import MarketData
from gateway.projection.entities import DepthBook, OpenOrder, TeamState
from gateway.projection.messages import iso_timestamp


class Views:
    config: Config
    instruments: dict[str, Instrument]
    teams: dict[str, TeamState]
    _by_key_hash: dict[str, TeamState]
    broadcasts: dict[str, int]
    orders: dict[str, OpenOrder]
    books: dict[str, DepthBook]
    last_price: dict[str, int]
    marks: dict[str, int]
    market: dict[str, MarketData]
    applied_seq: int
    last_ts: int
    tick_number: int
    phase: str
    # a class default, so projections pickled before the field existed still read
    expiry: datetime.date | None = None

    def resolve(self, instrument_id: str) -> str:
        """The canonical id of ``instrument_id`` (itself, or what its long form names).

        Raises ``instruments.UnknownInstrument``.
        """
        return instrumentsmod.resolve(self.instruments, self.expiry, instrument_id)

    def team(self, team_id: str) -> TeamState | None:
        return self.teams.get(team_id)

    def team_for_key_hash(self, key_hash: str) -> TeamState | None:
        return self._by_key_hash.get(key_hash)

    def stream_head(self, team_id: str) -> int:
        team = self.teams.get(team_id)
        return self.head_of(team) if team is not None else 0

    def head_of(self, team: TeamState) -> int:
        return team.own + self.broadcasts.get(team.role, 0) - team.base

    def mark(self, instrument_id: str) -> int | None:
        book = self.books.get(instrument_id)
        bid = max(book.bids) if book is not None and book.bids else None
        ask = min(book.asks) if book is not None and book.asks else None
        return mark_price(
            self.marks.get(instrument_id), self.last_price.get(instrument_id), bid, ask
        )

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
            "cash": to_dollars(team.cash),
            "fees": to_dollars(team.fees),
            "pnl": to_dollars(self.pnl(team)),
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
                    "mark": to_dollars(mark),
                    "market_value": None
                    if mark is None
                    else to_dollars(quantity * mark * multiplier),
                }
            )
        return {
            "team_id": team.team_id,
            "positions": dict(team.positions),
            # the log time this answer reflects (deterministic, unlike the envelope's)
            "last_updated": iso_timestamp(self.last_ts),
            "details": details,
            "cash": to_dollars(team.cash),
            "fees": to_dollars(team.fees),
            "pnl": to_dollars(self.pnl(team)),
            "total_position": sum(abs(q) for q in team.positions.values()),
            "trades": team.trades,
            "volume": team.volume,
        }

    def open_orders(self, team_id: str, instrument_id: str | None = None) -> dict[str, Any]:
        """``{"orders": [...]}``, oldest first, as the reference's ``GET /orders`` shows."""
        team = self.teams[team_id]
        orders = [
            o.view()
            for o in team.orders.values()
            if instrument_id is None or o.instrument_id == instrument_id
        ]
        return {"orders": orders}

    def book_view(self, instrument_id: str, depth: int = 5) -> dict[str, Any]:
        book = self.books.get(instrument_id) or DepthBook()
        top = book.top(depth)
        return {
            "instrument_id": instrument_id,
            **top,
            "last": to_dollars(self.last_price.get(instrument_id)),
            "mark": to_dollars(self.mark(instrument_id)),
            # this tick's fair value (every tick records all of them), which the price band
            # is centred on; a book's last market_data may be older
            "fair": to_dollars(self.marks.get(instrument_id)),
            "seq": self.applied_seq,
            "timestamp": iso_timestamp(self.last_ts),
        }

    def instruments_view(self) -> list[dict[str, Any]]:
        expiry = self.expiry
        return [
            {
                "instrument_id": i.id,
                "underlying": i.underlying,
                "kind": i.kind,
                "strike": to_dollars(i.strike),
                "multiplier": i.multiplier,
                "tick_size": to_dollars(self.config.instruments.tick),
                "mark": to_dollars(self.mark(i.id)),
                "expiry": None if expiry is None or not i.is_option else expiry.isoformat(),
                "alias": None if expiry is None else instrumentsmod.long_id(i, expiry),
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

    def roster(self, offset: int, limit: int) -> dict[str, Any]:
        """``GET /game/teams``: the registered teams in registration order, one page.

        The simulated participants (house, retail flow) have no key and are not listed.
        """
        teams = [t for t in self.teams.values() if t.api_key_hash]
        page = teams[offset : offset + limit]
        end = offset + len(page)
        return {
            "teams": [
                {
                    "team_id": t.team_id,
                    "team_name": t.team_name,
                    "role": t.role,
                    "disabled": t.disabled,
                }
                for t in page
            ],
            "count": len(page),
            "total": len(teams),
            "offset": offset,
            "next_offset": end if end < len(teams) else None,
        }
