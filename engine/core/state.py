"""The core's state and what everything else builds on: emitting events, read views.

``CoreState`` holds the books, accounts, live orders and counters; ``Trading`` (orders
and quotes) and ``Exchange`` (commands, teams, admin, the session) add behaviour on top.
The views answer the market simulation (``MarketView``), the shell and replays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from engine.config import Config
from engine.core import rules
from engine.core.accounts import Account
from engine.core.book import Book
from engine.core.orders import Order
from engine.core.rules import Refusal
from engine.instruments import Instrument, build
from engine.market import MarketView, TickOutput
from engine.money import mark_price
from engine.records import (
    Command,
    Event,
    OrderRejected,
)


class MarketLike(Protocol):
    """What the core needs of the simulation (``engine.market.simulator.Market``)."""

    def teams(self) -> tuple[Any, ...]: ...
    def fair(self) -> dict[str, int]: ...
    def on_tick(self, tick_number: int, phase: str, view: MarketView) -> TickOutput: ...


MarketFactory = Callable[[Config, int, dict[str, Instrument]], MarketLike]


def default_market(config: Config, seed: int, instruments: dict[str, Instrument]) -> MarketLike:
    from engine.market.simulator import Market

    market: MarketLike = Market(config, seed, instruments)
    return market


class CoreState:
    def __init__(
        self, config: Config, seed: int, session_id: str = "", market: MarketFactory | None = None
    ) -> None:
        self.config = config
        self.seed = seed
        self.session_id = session_id
        self.instruments = build(config)
        self.books = {iid: Book(iid) for iid in self.instruments}
        self.teams: dict[str, Account] = {}
        self.names: dict[str, str] = {}  # casefolded name -> team id
        self.skeletons: dict[str, str] = {}  # names.skeleton(name) -> team id
        self.invites: set[str] = set()  # hashes of the invite codes not used yet
        self.orders: dict[str, Order] = {}  # every live order, in submission order
        self.client_ids: dict[tuple[str, str], str] = {}
        self.quotes: dict[tuple[str, str], tuple[str, str]] = {}
        self.phase = "closed"
        self.tick_number = 0
        self.house_enabled = True  # admin switch; the config decides whether a house exists
        self.clock_running = True  # admin switch read by the shell's clock
        # admin switches of the day: a halt refuses new orders and quotes until resumed;
        # the closing bell refuses them for good (``ended_seq`` is the bell's record)
        self.trading_halted = False
        self.ended_seq = 0
        # ids are these counters: TEAM_0001, ORD_00000001, TRD_00000001
        self.teams_registered = 0  # registered teams (the simulated ones are not counted)
        self.orders_placed = 0
        self.trades_made = 0
        self.limiter = rules.RateLimiter()
        self.market = (market or default_market)(config, seed, self.instruments)
        self.fair: dict[str, int] = dict(self.market.fair())
        self.bands: dict[str, tuple[int, int] | None] = {}
        self._refresh_bands()
        self.registration_open = config.teams.registration_open
        self.published: dict[str, tuple[int | None, int | None, int | None, int, int]] = {}
        self._events: list[Event] = []
        self._seq = 0
        self._ts = 0

    def _refresh_bands(self) -> None:
        """The price band of every instrument, after each change of fair values."""
        config, fair = self.config, self.fair
        self.bands = {
            iid: rules.band(config, instrument, fair.get(iid))
            for iid, instrument in self.instruments.items()
        }

    # ------------------------------------------------------------------ events

    def _emit(self, event: Event) -> None:
        self._events.append(event)

    def _record(self, kind: type[Event], **fields: Any) -> None:
        """Emit an event of ``kind`` with the next seq (off the hot path: kwargs cost)."""
        seq, ts = self._next()
        self._emit(kind(seq=seq, ts=ts, **fields))

    def _next(self) -> tuple[int, int]:
        """(seq, ts) for the next event."""
        return self._seq + len(self._events) + 1, self._ts

    def _refuse(self, command: Command, refusal: Refusal, **fields: Any) -> None:
        seq, ts = self._next()
        tag = type(command).__struct_config__.tag
        self._emit(
            OrderRejected(
                seq=seq,
                ts=ts,
                team_id=getattr(command, "team_id", None),
                code=refusal.code,
                message=refusal.message,
                details=refusal.details,
                command=str(tag),
                request_id=getattr(command, "request_id", None),
                **fields,
            )
        )

    # ------------------------------------------------------------------ views

    def best_bid(self, instrument_id: str) -> tuple[int, int] | None:
        return self.books[instrument_id].bids.top()

    def best_ask(self, instrument_id: str) -> tuple[int, int] | None:
        return self.books[instrument_id].asks.top()

    def position(self, team_id: str, instrument_id: str) -> int:
        team = self.teams.get(team_id)
        return 0 if team is None else team.positions.get(instrument_id, 0)

    def total_position(self, team_id: str) -> int:
        team = self.teams.get(team_id)
        return 0 if team is None else team.total_position()

    def mark(self, instrument_id: str) -> int | None:
        book = self.books[instrument_id]
        fair = self.fair.get(instrument_id)
        return mark_price(fair, book.last, book.bids.best(), book.asks.best())

    def pnl(self, team_id: str) -> dict[str, int]:
        """Realised, unrealised (marked) and total P&L of a team in cents; total includes fees."""
        team = self.teams[team_id]
        unrealised = 0
        for iid, position in team.positions.items():
            mark = self.mark(iid)
            if position and mark is not None:
                unrealised += position * mark * self.instruments[iid].multiplier - team.cost.get(
                    iid, 0
                )
        fees = team.fees_paid + team.fees_received
        return {
            "realised": team.realised,
            "unrealised": unrealised,
            "fees": fees,
            "total": team.realised + unrealised + fees,
        }

    def digest(self) -> str:
        """A hash of the whole state, so two runs can be compared tick by tick."""
        counters = [self.teams_registered, self.orders_placed, self.trades_made]
        # the three counters hash as one list: the recorded digests were made that way
        state: list[Any] = [self.phase, self.tick_number, counters]
        for iid, book in self.books.items():
            # each side's orders as ``[(order_id, remaining), ...]``, encoded once per
            # change of the side: the same bytes as inline (tests/core/test_properties.py)
            state.append((iid, book.last, book.bids.encoded_orders(), book.asks.encoded_orders()))
        for team in self.teams.values():
            state.append((team.team_id, team.positions, team.cash, team.realised))
        return hashlib.blake2b(msgspec.msgpack.encode(state), digest_size=16).hexdigest()
