"""A team's account: positions, cash, fees, realised P&L and resting exposure.

Money is integer cents. Cash moves by price x quantity x multiplier on every fill and
by the signed fee. Realised P&L uses average cost: the cost basis of a position is kept
in cents, and closing part of it realises the difference (floor division keeps it exact
and deterministic).
"""

from __future__ import annotations

from engine.core.orders import Order


class Account:
    __slots__ = (
        "api_key_hash",
        "cash",
        "cost",
        "disabled",
        "exempt",
        "exposure",
        "exposure_total",
        "fees_paid",
        "fees_received",
        "name",
        "orders",
        "positions",
        "realised",
        "resting_buy",
        "resting_sell",
        "role",
        "team_id",
        "trades",
        "volume",
    )

    def __init__(
        self, team_id: str, name: str, role: str, api_key_hash: str, exempt: bool = False
    ) -> None:
        self.team_id = team_id
        self.name = name
        self.role = role
        self.api_key_hash = api_key_hash
        self.exempt = exempt  # the simulated house: no position or rate limits
        self.disabled = False
        self.positions: dict[str, int] = {}
        self.cost: dict[str, int] = {}  # cost basis of each open position, cents
        self.cash = 0
        self.fees_paid = 0  # <= 0
        self.fees_received = 0  # >= 0
        self.realised = 0
        self.trades = 0
        self.volume = 0
        self.orders: dict[str, Order] = {}  # live orders by id, in submission order
        self.resting_buy: dict[str, int] = {}
        self.resting_sell: dict[str, int] = {}
        # worst-case |position| per instrument and their sum, kept current so the
        # total-limit check is O(1) per order instead of a walk over every instrument
        self.exposure: dict[str, int] = {}
        self.exposure_total = 0

    def _refresh(self, instrument_id: str) -> None:
        position = self.positions.get(instrument_id, 0)
        up = position + self.resting_buy.get(instrument_id, 0)
        down = position - self.resting_sell.get(instrument_id, 0)
        worst = max(up if up > 0 else -up, down if down > 0 else -down)
        self.exposure_total += worst - self.exposure.get(instrument_id, 0)
        self.exposure[instrument_id] = worst

    def rest(self, order: Order, quantity: int) -> None:
        """Count ``quantity`` (signed: negative releases) of ``order`` as resting."""
        book = self.resting_buy if order.is_buy else self.resting_sell
        book[order.instrument_id] = book.get(order.instrument_id, 0) + quantity
        self._refresh(order.instrument_id)

    def fill(
        self,
        instrument_id: str,
        is_buy: bool,
        quantity: int,
        price: int,
        multiplier: int,
        fee: int,
        resting: bool = False,
    ) -> None:
        """Book a fill; ``resting``: the order was in the book, so it rests that much less."""
        if resting:
            book = self.resting_buy if is_buy else self.resting_sell
            book[instrument_id] -= quantity
        signed = quantity if is_buy else -quantity
        notional = price * quantity * multiplier
        self.cash += -notional if is_buy else notional
        self.cash += fee
        if fee < 0:
            self.fees_paid += fee
        else:
            self.fees_received += fee
        self.trades += 1
        self.volume += quantity
        position = self.positions.get(instrument_id, 0)
        cost = self.cost.get(instrument_id, 0)
        if position == 0 or (position > 0) == is_buy:
            cost += price * signed * multiplier
        else:
            closing = min(quantity, abs(position))
            released = cost * closing // abs(position)
            # a long sold (or a short bought back) at `price` against its average cost
            proceeds = price * closing * multiplier * (1 if position > 0 else -1)
            self.realised += proceeds - released
            cost -= released
            if quantity > closing:  # flipped through zero: the rest opens a new position
                cost = price * (signed + (closing if signed < 0 else -closing)) * multiplier
        position += signed
        if position == 0:
            cost = 0
        self.positions[instrument_id] = position
        self.cost[instrument_id] = cost
        self._refresh(instrument_id)

    def worst_case(self, instrument_id: str, is_buy: bool, quantity: int) -> int:
        """|position| if every resting order on that side and this one filled."""
        position = self.positions.get(instrument_id, 0)
        if is_buy:
            return abs(position + self.resting_buy.get(instrument_id, 0) + quantity)
        return abs(position - self.resting_sell.get(instrument_id, 0) - quantity)

    def worst_total(self, instrument_id: str, is_buy: bool, quantity: int) -> int:
        """Sum over instruments of the worst-case |position|, with the new order counted."""
        position = self.positions.get(instrument_id, 0)
        buy = self.resting_buy.get(instrument_id, 0) + (quantity if is_buy else 0)
        sell = self.resting_sell.get(instrument_id, 0) + (0 if is_buy else quantity)
        here = max(abs(position + buy), abs(position - sell))
        return self.exposure_total - self.exposure.get(instrument_id, 0) + here

    def total_position(self) -> int:
        return sum(abs(q) for q in self.positions.values())
