"""The team's state, kept from its stream alone: what a bot reads between ticks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tradepit import messages as m


def multiplier(instrument_id: str) -> int:
    """Options carry 100 underlying units a contract (docs/rules.md), underlyings 1."""
    return 100 if instrument_id.endswith(("_CALL", "_PUT")) else 1


#: Signals and headlines kept: the latest ones are what a strategy reads
KEEP = 100


@dataclass
class Order:
    """One open order of the team, as its stream told it: what is left of it."""

    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    price: float | None
    remaining: int
    quote: bool


@dataclass
class State:
    """The team's state, kept from its stream alone: what a bot reads between ticks."""

    team_id: str = ""
    role: str = ""
    positions: dict[str, int] = field(default_factory=dict)
    cash: float = 0.0
    fees: float = 0.0
    orders: dict[str, Order] = field(default_factory=dict)
    fills: list[m.ExecutionData] = field(default_factory=list)
    market: dict[str, m.MarketDataData] = field(default_factory=dict)
    #: each instrument's fair value, from its latest ``market_data`` that carried one
    fair: dict[str, float] = field(default_factory=dict)
    phase: str = ""
    tick: int = 0
    score: dict[str, Any] = field(default_factory=dict)
    signals: list[dict[str, Any]] = field(default_factory=list)
    news: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0
    # the organisers' halt and closing bell, as this stream told them (a stream that
    # starts from a snapshot learns of a halt from the first TRADING_HALTED instead)
    halted: bool = False
    ended: bool = False

    def apply(self, msg: m.Message | m.Other) -> None:
        """Update from one message (the stream calls it before yielding the message)."""
        self.last_seq = msg.seq
        if isinstance(msg, m.PositionSnapshot):
            d = msg.data
            self.team_id, self.role = d.team_id, d.role
            self.positions = {k: v for k, v in d.positions.items() if v}
            self.cash, self.fees = d.cash, d.fees
            self.tick, self.phase = d.tick_number, d.phase
            self.orders = {
                o.order_id: Order(o.order_id, o.client_order_id, o.instrument_id, o.side,
                                  o.price, o.remaining_quantity, o.quote)
                for o in d.open_orders
            }  # fmt: skip
        elif isinstance(msg, m.NewOrderAck):
            a = msg.data
            if a.order_type == "limit":  # a market order never rests
                self.orders[a.order_id] = Order(a.order_id, a.client_order_id, a.instrument_id,
                                                a.side, a.price, a.quantity, a.quote)  # fmt: skip
        elif isinstance(msg, m.ExecutionReport):
            self._fill(msg.data)
        elif isinstance(msg, m.OrderCancelled):
            self.orders.pop(msg.data.order_id, None)
        elif isinstance(msg, m.MarketData):
            self.market[msg.data.instrument_id] = msg.data
            if msg.data.fair is not None:
                self.fair[msg.data.instrument_id] = msg.data.fair
        elif isinstance(msg, m.TickStart):
            self.tick, self.phase = msg.data.tick_number, msg.data.phase
        elif isinstance(msg, m.ScoreUpdate):
            self.score = msg.data
        elif isinstance(msg, m.Signal):
            self.signals.append(msg.data)
            del self.signals[:-KEEP]
        elif isinstance(msg, m.Event):
            if msg.data.get("event_type") == "phase_changed":
                self.phase = str(msg.data["phase"])
            elif msg.data.get("event_type") == "news":
                self.news.append(msg.data)
                del self.news[:-KEEP]
            elif msg.data.get("event_type") in ("trading_halted", "trading_resumed"):
                self.halted = msg.data["event_type"] == "trading_halted"
            elif msg.data.get("event_type") == "competition_ended":
                self.ended = True

    def _fill(self, f: m.ExecutionData) -> None:
        self.fills.append(f)
        signed = f.executed_quantity if f.side == "buy" else -f.executed_quantity
        q = self.positions.get(f.instrument_id, 0) + signed
        if q:
            self.positions[f.instrument_id] = q
        else:
            self.positions.pop(f.instrument_id, None)
        self.cash += -signed * f.executed_price * multiplier(f.instrument_id) + f.fees
        self.fees += f.fees
        order = self.orders.get(f.order_id)
        if order is not None:
            if f.remaining_quantity:
                order.remaining = f.remaining_quantity
            else:
                del self.orders[f.order_id]

    def resting(self, instrument_id: str, side: str) -> int:
        """The quantity the team has resting on one side of one instrument."""
        return sum(
            o.remaining
            for o in self.orders.values()
            if o.instrument_id == instrument_id and o.side == side
        )

    def mid(self, instrument_id: str) -> float | None:
        """The instrument's mid from its last ``market_data``; its last trade if a side is empty."""
        md = self.market.get(instrument_id)
        if md is None or md.bid is None or md.ask is None:
            return md.last if md is not None else None
        return (md.bid + md.ask) / 2
