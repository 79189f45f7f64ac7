"""A stand-in for the engine: sequences commands into a MemoryLog, answers like it.

Just enough rules to exercise the gateway: registration (names unique), orders that
match price-time against resting ones, cancels, quotes. Quantities above 100 breach the
position limit; a quantity of 99 trips the rate limit.
"""

from __future__ import annotations

import trio

from engine.records import (
    AnyRecord,
    CancelAll,
    CancelOrder,
    Command,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    RegisterTeam,
    SubmitOrder,
    SubmitQuote,
    TeamRegistered,
    Trade,
    stamp,
)
from engine.wire import Reply
from gateway.engine_client import EngineUnavailable
from gateway.source import MemoryLog
from tests.gateway.builders import T0


class FakeEngine:
    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.down = False
        self.names: dict[str, str] = {}
        self.resting: list[OrderAccepted] = []  # price-time: sorted when matching
        self.remaining: dict[str, int] = {}
        self.ids = 0
        self.requests: list[Command] = []

    def _id(self, prefix: str, digits: int = 4) -> str:
        self.ids += 1
        return f"{prefix}_{self.ids:0{digits}d}"

    async def request(self, command: Command) -> Reply:
        await trio.lowlevel.checkpoint()
        if self.down:
            raise EngineUnavailable("the engine is not reachable; retry shortly")
        self.requests.append(command)
        seq = self.log.head() + 1
        ts = T0 + seq * 1_000_000
        events: list[AnyRecord] = [
            stamp(e, seq + i, ts)  # type: ignore[misc]
            for i, e in enumerate(self.apply(command), start=1)
        ]
        self.log.append([stamp(command, seq, ts), *events])  # type: ignore[list-item]
        return Reply(0, seq, events)

    def emit(self, *records: AnyRecord) -> None:
        """Records the engine makes on its own (clock, market): stamped and appended."""
        seq = self.log.head() + 1
        ts = T0 + seq * 1_000_000
        self.log.append([stamp(r, seq + i, ts) for i, r in enumerate(records)])

    def apply(self, c: Command) -> list[Event]:
        match c:
            case RegisterTeam():
                if c.team_name in self.names:
                    return [self._reject(None, "TEAM_NAME_TAKEN", "register_team")]
                team_id = self.names[c.team_name] = f"TEAM_{len(self.names) + 1:04d}"
                return [
                    TeamRegistered(
                        team_id=team_id,
                        team_name=c.team_name,
                        role=c.role,
                        api_key_hash=c.api_key_hash,
                    )
                ]
            case SubmitOrder():
                if c.quantity > 100:
                    return [self._reject(c.team_id, "POSITION_LIMIT_EXCEEDED", "submit_order")]
                if c.quantity == 99:
                    return [
                        self._reject(
                            c.team_id, "RATE_LIMIT_EXCEEDED", "submit_order", retry_after=0.5
                        )
                    ]
                return self._order(
                    c.team_id,
                    c.instrument_id,
                    c.side,
                    c.quantity,
                    c.price,
                    c.client_order_id,
                    quote=False,
                )
            case SubmitQuote():
                out: list[Event] = []
                for old in [o for o in self.resting if o.team_id == c.team_id and o.quote]:
                    out.append(self._cancel(old, "replaced"))
                out += self._order(
                    c.team_id, c.instrument_id, "buy", c.bid_size, c.bid_price, None, quote=True
                )
                out += self._order(
                    c.team_id, c.instrument_id, "sell", c.ask_size, c.ask_price, None, quote=True
                )
                return out
            case CancelOrder():
                for o in self.resting:
                    if o.order_id == c.order_id and o.team_id == c.team_id:
                        return [self._cancel(o, "user")]
                return [self._reject(c.team_id, "ORDER_NOT_FOUND", "cancel_order")]
            case CancelAll():
                return [
                    self._cancel(o, "cancel_all")
                    for o in list(self.resting)
                    if o.team_id == c.team_id and c.instrument_id in (None, o.instrument_id)
                ]
        return []

    def _reject(self, team_id: str | None, code: str, command: str, **details: float) -> Event:
        return OrderRejected(
            team_id=team_id, code=code, message=code.lower(), command=command, details=dict(details)
        )

    def _cancel(self, order: OrderAccepted, reason: str) -> Event:
        self.resting.remove(order)
        return OrderCancelled(
            order_id=order.order_id,
            team_id=order.team_id,
            instrument_id=order.instrument_id,
            side=order.side,
            cancelled_quantity=self.remaining.pop(order.order_id),
            reason=reason,
            client_order_id=order.client_order_id,
        )

    def _order(
        self,
        team_id: str,
        instrument_id: str,
        side: str,
        quantity: int,
        price: int | None,
        client_order_id: str | None,
        *,
        quote: bool,
    ) -> list[Event]:
        accepted = OrderAccepted(
            order_id=self._id("ORD", 8),  # the engine's shape: the gateway checks it
            team_id=team_id,
            instrument_id=instrument_id,
            side=side,
            order_type="limit" if price is not None else "market",
            quantity=quantity,
            price=price,
            client_order_id=client_order_id,
            quote=quote,
        )
        out: list[Event] = [accepted]
        left = quantity
        sign = 1 if side == "buy" else -1
        book = sorted(
            (o for o in self.resting if o.instrument_id == instrument_id and o.side != side),
            key=lambda o: sign * (o.price or 0),
        )
        for maker in book:
            assert maker.price is not None
            if left == 0 or (price is not None and sign * (maker.price - price) > 0):
                break
            qty = min(left, self.remaining[maker.order_id])
            left -= qty
            self.remaining[maker.order_id] -= qty
            out.append(
                Trade(
                    trade_id=self._id("TRD"),
                    instrument_id=instrument_id,
                    price=maker.price,
                    quantity=qty,
                    maker_order_id=maker.order_id,
                    maker_team_id=maker.team_id,
                    maker_side=maker.side,
                    maker_fee=qty,
                    maker_remaining=self.remaining[maker.order_id],
                    taker_order_id=accepted.order_id,
                    taker_team_id=team_id,
                    taker_fee=-2 * qty,
                    taker_remaining=left,
                    maker_client_order_id=maker.client_order_id,
                    taker_client_order_id=client_order_id,
                )
            )
            if self.remaining[maker.order_id] == 0:
                self.resting.remove(maker)
                del self.remaining[maker.order_id]
        if left and price is None:
            self.remaining[accepted.order_id] = left
            self.resting.append(accepted)
            out.append(self._cancel(accepted, "no_liquidity"))
        elif left:
            self.resting.append(accepted)
            self.remaining[accepted.order_id] = left
        return out
