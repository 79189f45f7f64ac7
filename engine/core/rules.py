"""The admission rules: may this team place this order now? One function per rule.

Each check returns ``None`` (allowed) or a ``Refusal`` with an error code of
``gateway/errors.py`` CODES (docs/protocol.md, Error codes), a message
for people and ``details`` for programs (current position, limit, retry_after, ...).
The checks run in a fixed order, so the first refusal is always the same one.
"""

from __future__ import annotations

from collections import deque

from engine.config import Config, RoleRules
from engine.core.accounts import Account
from engine.core.orders import BUY, SIDES
from engine.instruments import Instrument
from engine.money import to_dollars
from engine.order_types import ORDER_TYPES
from engine.quote_width import allows as width_allows
from engine.quote_width import widest
from engine.vocabulary import OPEN_PHASES

NANOS = 1_000_000_000
Details = dict[str, str | int | float | bool | None]


class Refusal:
    __slots__ = ("code", "details", "message")

    def __init__(self, code: str, message: str, details: Details | None = None) -> None:
        self.code = code
        self.message = message
        self.details: Details = details or {}


def registration_allows(is_open: bool, registered: int, max_teams: int) -> Refusal | None:
    """Closed by the organisers, or full (``registered`` never counts simulated teams)."""
    if not is_open:
        return Refusal("REGISTRATION_CLOSED", "registration is closed by the organisers")
    if registered >= max_teams:
        return Refusal(
            "MAX_TEAMS_REACHED",
            f"the session is full ({max_teams} teams)",
            {"max_teams": max_teams},
        )
    return None


def trading_allows(halted: bool, ended: bool) -> Refusal | None:
    """New orders and quotes: never after the closing bell, not while halted."""
    if ended:
        return Refusal("COMPETITION_ENDED", "the competition has ended: no more orders or quotes")
    if halted:
        return Refusal(
            "TRADING_HALTED",
            "trading is halted by the organisers: cancels are accepted, orders wait for resume",
        )
    return None


def phase_allows(phase: str, action: str) -> Refusal | None:
    if phase in OPEN_PHASES:
        return None
    return Refusal("MARKET_CLOSED", f"cannot {action} during {phase}", {"phase": phase})


def order_fields(
    instruments: dict[str, Instrument],
    config: Config,
    instrument_id: str,
    side: str,
    quantity: int,
    order_type: str,
    price: int | None,
) -> Refusal | None:
    if instrument_id not in instruments:
        return Refusal("INVALID_INSTRUMENT", f"unknown instrument {instrument_id[:64]!r}")
    if side not in SIDES:
        return Refusal("INVALID_SIDE", "side must be 'buy' or 'sell'")
    spec = ORDER_TYPES.get(order_type)
    if spec is None:
        return Refusal("ORDER_TYPE_NOT_ALLOWED", f"unknown order type {order_type[:32]!r}")
    if quantity <= 0:
        return Refusal(
            "INVALID_QUANTITY", "quantity must be a positive integer", {"quantity": quantity}
        )
    if spec.needs_price:
        if price is None:
            return Refusal("MISSING_PRICE", f"a {order_type} order needs a price")
        if price <= 0 or price > config.instruments.max_price:
            return Refusal(
                "INVALID_PRICE",
                "price out of range",
                {"price_cents": price, "max_price_cents": config.instruments.max_price},
            )
        if price % config.instruments.tick:
            return Refusal(
                "INVALID_PRICE",
                "price is not a multiple of the tick",
                {"tick_cents": config.instruments.tick},
            )
    elif price is not None:
        return Refusal("INVALID_PRICE", f"a {order_type} order takes no price")
    return None


def role_allows(rules: RoleRules, role: str, order_type: str, quantity: int) -> Refusal | None:
    if order_type not in rules.order_types:
        return Refusal(
            "ORDER_TYPE_NOT_ALLOWED",
            f"{role} may not send {order_type} orders",
            {"role": role, "allowed": ",".join(rules.order_types)},
        )
    if quantity > rules.max_order_size:
        return Refusal(
            "INVALID_QUANTITY",
            f"quantity above the {role} maximum order size",
            {"quantity": quantity, "max_order_size": rules.max_order_size},
        )
    return None


def one_side_rule(
    rules: RoleRules, account: Account, instrument_id: str, is_buy: bool, order_type: str
) -> Refusal | None:
    """A hedge fund never rests a bid and an ask on one instrument."""
    if not rules.one_side_per_instrument or not ORDER_TYPES[order_type].rests:
        return None
    opposite = account.resting_sell if is_buy else account.resting_buy
    if opposite.get(instrument_id, 0) > 0:
        return Refusal(
            "ORDER_TYPE_NOT_ALLOWED",
            f"{account.role} may not rest both a bid and an ask on {instrument_id}",
            {"resting_side": "sell" if is_buy else "buy", "instrument_id": instrument_id},
        )
    return None


def position_limits(
    rules: RoleRules, account: Account, instrument: Instrument, is_buy: bool, quantity: int
) -> Refusal | None:
    """Worst case: position + same-side resting + this order, per instrument and in total."""
    if account.exempt:
        return None
    limit = rules.limit_per_option if instrument.is_option else rules.limit_per_underlying
    iid = instrument.id
    if limit is not None:
        worst = account.worst_case(iid, is_buy, quantity)
        if worst > limit:
            return Refusal(
                "POSITION_LIMIT_EXCEEDED",
                f"worst-case position {worst} on {iid} would exceed {limit}",
                {
                    "instrument_id": iid,
                    "current_position": account.positions.get(iid, 0),
                    "resting": (account.resting_buy if is_buy else account.resting_sell).get(
                        iid, 0
                    ),
                    "order_quantity": quantity,
                    "worst_case": worst,
                    "limit": limit,
                },
            )
    total = account.worst_total(iid, is_buy, quantity)
    if total > rules.total_limit:
        return Refusal(
            "POSITION_LIMIT_EXCEEDED",
            f"worst-case total position {total} would exceed {rules.total_limit}",
            {
                "current_total": account.total_position(),
                "order_quantity": quantity,
                "worst_case_total": total,
                "limit": rules.total_limit,
                "scope": "total",
            },
        )
    return None


class RateLimiter:
    """Orders per second per team, on sequencer time (a sliding one-second window)."""

    def __init__(self) -> None:
        self.windows: dict[str, deque[int]] = {}

    def check(self, team_id: str, per_second: int, now: int) -> Refusal | None:
        window = self.windows.get(team_id)
        if window is None:
            window = self.windows[team_id] = deque()
        while window and window[0] <= now - NANOS:
            window.popleft()
        if len(window) >= per_second:
            retry = (window[0] + NANOS - now) / NANOS
            return Refusal(
                "RATE_LIMIT_EXCEEDED",
                f"more than {per_second} orders in one second",
                {"retry_after": round(max(retry, 0.001), 3), "remaining": 0, "limit": per_second},
            )
        window.append(now)
        return None

    def remaining(self, team_id: str, per_second: int) -> int:
        return max(per_second - len(self.windows.get(team_id, ())), 0)


def quote_fields(
    bid: int, bid_size: int, ask: int, ask_size: int, rules: RoleRules, config: Config
) -> Refusal | None:
    if bid_size < 1 or ask_size < 1:
        return Refusal("INVALID_QUANTITY", "a quote needs at least one contract per side")
    if max(bid_size, ask_size) > rules.max_order_size:
        return Refusal(
            "INVALID_QUANTITY",
            "quote size above the maximum order size",
            {"max_order_size": rules.max_order_size},
        )
    if bid >= ask:
        return Refusal(
            "INVALID_PRICE", "the bid must be below the ask", {"bid_cents": bid, "ask_cents": ask}
        )
    # the one width rule, shared with the scorer's good quote (engine/quote_width.py)
    if not width_allows(bid, ask, config.quotes):
        return Refusal(
            "INVALID_PRICE",
            "quote spread exceeds the widest allowed at its price",
            {"spread_cents": ask - bid, "max_spread_cents": widest(bid, ask, config.quotes)},
        )
    return None


def side_is_buy(side: str) -> bool:
    return side == BUY


# ------------------------------------------------------------------ the price band


def band(config: Config, instrument: Instrument, fair: int | None) -> tuple[int, int] | None:
    """(min, max) price in cents an order on ``instrument`` may have, or None: no band.

    Fair value +- ``max_deviation_percent`` of it, an option's never narrower than +-
    ``option_min_deviation_cents``, never under one tick. ``|p - fair| * 100 <= fair * pct``
    is exact for integer cents, hence the floor division. Without a fair value (a market
    model that has none yet) there is nothing to band against and only ``max_price``
    applies; the default market has one for every instrument from the session's start.
    """
    limits = config.price_limits
    if fair is None or not limits.enabled:
        return None
    width = fair * limits.max_deviation_percent // 100
    if instrument.is_option:
        width = max(width, limits.option_min_deviation_cents)
    return max(fair - width, config.instruments.tick), fair + width


def out_of_band(price: int, limits: tuple[int, int]) -> Refusal:
    low, high = limits
    return Refusal(
        "INVALID_PRICE",
        f"price {to_dollars(price):.2f} is outside the band"
        f" {to_dollars(low):.2f}-{to_dollars(high):.2f}"
        " around fair value",
        {
            "reason": "out_of_band",
            "min": to_dollars(low),
            "max": to_dollars(high),
            "price": to_dollars(price),
        },
    )


def in_band(price: int, limits: tuple[int, int] | None) -> bool:
    return limits is None or limits[0] <= price <= limits[1]


def through_band(is_buy: bool, price: int, limits: tuple[int, int] | None) -> bool:
    """Priced beyond the band on its marketable side: a buy above it, a sell below it."""
    if limits is None:
        return False
    return price > limits[1] if is_buy else price < limits[0]
