"""Inbound REST bodies: strict types, then the checks that need no exchange state.

Bodies decode into msgspec structs with ``forbid_unknown_fields`` (a typo is a 422,
not a silent default). A type error is reported with the error code of its field
(``$.quantity`` -> ``INVALID_QUANTITY``). JSON's non-standard ``NaN``/``Infinity``
literals, which Python's ``json.dumps`` emits, are read by a fallback decoder so they
are refused as ``INVALID_PRICE`` rather than as malformed JSON. Everything that
depends on state (limits, rate, phase, the role's order types and sizes) is the
engine's to decide.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Protocol, TypeVar

import msgspec

from engine.config import Config
from engine.instruments import Instrument, UnknownInstrument
from engine.money import PriceError, to_cents
from engine.order_types import ORDER_TYPES
from engine.records import ROLES, CancelAll, CancelOrder, RegisterTeam, SubmitOrder, SubmitQuote
from gateway.errors import ApiError

MAX_QUANTITY = 2**31 - 1  # a sanity bound; each role's max order size is the engine's rule
MAX_ID_LENGTH = 64  # client_order_id, request_id (body and X-Request-ID header)
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
#: The engine's order ids (``ORD_`` and at least 8 digits); anything else names no order
ORDER_ID = re.compile(r"ORD_[0-9]{8,20}")


class _Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class OrderBody(_Body, kw_only=True):
    instrument_id: str
    side: str
    quantity: int
    order_type: str | None = None
    price: float | None = None
    client_order_id: Id | None = None
    request_id: Id | None = None


class QuoteBody(_Body, kw_only=True):
    instrument_id: str
    bid_price: float
    bid_size: int
    ask_price: float
    ask_size: int
    request_id: Id | None = None


class RegisterBody(_Body, kw_only=True):
    team_name: str
    role: str
    request_id: Id | None = None
    invite_code: Id | None = None  # [teams] registration = "invite"


class InvitesBody(_Body, kw_only=True):
    count: int = 1


FIELD_CODES = {
    "instrument_id": "INVALID_INSTRUMENT",
    "side": "INVALID_SIDE",
    "quantity": "INVALID_QUANTITY",
    "bid_size": "INVALID_QUANTITY",
    "ask_size": "INVALID_QUANTITY",
    "price": "INVALID_PRICE",
    "bid_price": "INVALID_PRICE",
    "ask_price": "INVALID_PRICE",
    "order_type": "ORDER_TYPE_NOT_ALLOWED",
    "team_name": "INVALID_TEAM_NAME",
    "role": "INVALID_ROLE",
}
_FIELD = re.compile(r"(?:at `\$\.(\w+)`|required field `(\w+)`)")

B = TypeVar("B", bound=_Body)


def decode(body: bytes, kind: type[B]) -> B:
    """The body as ``kind``, or an ``ApiError`` naming the field's code."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from None
    except msgspec.DecodeError:
        pass
    try:  # NaN / Infinity literals: valid to Python, not to JSON
        loose = json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError("INVALID_JSON", "the body is not valid JSON") from None
    try:
        return msgspec.convert(loose, kind)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: msgspec.ValidationError) -> ApiError:
    text = str(exc)
    match = _FIELD.search(text)
    field = (match.group(1) or match.group(2)) if match else None
    code = FIELD_CODES.get(field or "", "INVALID_REQUEST")
    if "unknown field" in text:
        code = "INVALID_REQUEST"
    return ApiError(code, text, {"field": field} if field else {})


class Instruments(Protocol):
    """What input validation needs of the session's instruments (the projection's views)."""

    @property
    def instruments(self) -> Mapping[str, Instrument]: ...

    def resolve(self, instrument_id: str) -> str: ...


def instrument(catalog: Instruments, instrument_id: str) -> str:
    """The canonical id ``instrument_id`` names (a long-form alias included), or a 422."""
    try:
        return catalog.resolve(instrument_id)
    except UnknownInstrument as exc:
        shown = instrument_id if len(instrument_id) <= 64 else instrument_id[:64] + "..."
        ids = list(catalog.instruments)
        raise ApiError(
            "INVALID_INSTRUMENT",
            f"unknown instrument {shown!r}: {exc.hint}; instruments are {', '.join(ids)}",
            {"field": "instrument_id", "instruments": ids},
        ) from None


def _quantity(value: int, field: str = "quantity") -> int:
    if not 1 <= value <= MAX_QUANTITY:
        raise ApiError("INVALID_QUANTITY", f"{field} must be a positive integer", {"field": field})
    return value


def _price(config: Config, value: float, field: str = "price") -> int:
    try:
        return to_cents(value, tick=config.instruments.tick, limit=config.instruments.max_price + 1)
    except PriceError as exc:
        raise ApiError("INVALID_PRICE", str(exc), {"field": field}) from None


def order(body: bytes, team_id: str, config: Config, instruments: Instruments) -> SubmitOrder:
    o = decode(body, OrderBody)
    instrument_id = instrument(instruments, o.instrument_id)
    if o.side not in ("buy", "sell"):
        raise ApiError("INVALID_SIDE", "side must be 'buy' or 'sell'")
    quantity = _quantity(o.quantity)
    order_type = o.order_type or ("limit" if o.price is not None else "market")
    spec = ORDER_TYPES.get(order_type)
    if spec is None:
        names = " or ".join(repr(name) for name in ORDER_TYPES)
        raise ApiError("ORDER_TYPE_NOT_ALLOWED", f"order_type must be {names}")
    price: int | None = None
    if spec.needs_price:
        if o.price is None:
            raise ApiError("MISSING_PRICE", f"a {order_type} order needs a price")
        price = _price(config, o.price)
    return SubmitOrder(
        team_id=team_id,
        instrument_id=instrument_id,
        side=o.side,
        quantity=quantity,
        order_type=order_type,
        price=price,  # a market order's price is ignored
        client_order_id=o.client_order_id,
        request_id=o.request_id,
    )


def quote(body: bytes, team_id: str, config: Config, instruments: Instruments) -> SubmitQuote:
    q = decode(body, QuoteBody)
    return SubmitQuote(
        team_id=team_id,
        instrument_id=instrument(instruments, q.instrument_id),
        bid_price=_price(config, q.bid_price, "bid_price"),
        bid_size=_quantity(q.bid_size, "bid_size"),
        ask_price=_price(config, q.ask_price, "ask_price"),
        ask_size=_quantity(q.ask_size, "ask_size"),
        request_id=q.request_id,
    )


def registration(body: bytes, api_key_hash: str) -> RegisterTeam:
    r = decode(body, RegisterBody)
    name = r.team_name.strip()
    if not 3 <= len(name) <= 50 or not name.isprintable():
        raise ApiError("INVALID_TEAM_NAME", "team_name must be 3-50 printable characters")
    if r.role not in ROLES:
        raise ApiError("INVALID_ROLE", f"role must be one of {', '.join(ROLES)}")
    # hashed here: the code in clear never reaches the engine or the log
    invite = hashlib.sha256(r.invite_code.encode()).hexdigest() if r.invite_code else None
    return RegisterTeam(team_name=name, role=r.role, api_key_hash=api_key_hash,
                        request_id=r.request_id, invite_hash=invite)  # fmt: skip


#: Invite codes one ``POST /admin/invites`` makes at most.
MAX_INVITES = 500


def invites(body: bytes) -> int:
    count = decode(body, InvitesBody).count if body.strip() else 1
    if not 1 <= count <= MAX_INVITES:
        raise ApiError("INVALID_REQUEST", f"count must be 1-{MAX_INVITES}")
    return count


class DoneBody(_Body, kw_only=True):
    tick_number: int


def lockstep_done(body: bytes) -> int:
    """The tick a bot says it is done with (``POST /lockstep/done``)."""
    tick = decode(body, DoneBody).tick_number
    if tick < 0:
        raise ApiError("INVALID_REQUEST", "tick_number must be >= 0")
    return tick


def order_id(value: str) -> str:
    """An order id of the engine's shape; any other cannot name an order, so it is
    answered here without a command in the log."""
    if ORDER_ID.fullmatch(value) is None:
        shown = value if len(value) <= MAX_ID_LENGTH else value[:MAX_ID_LENGTH] + "..."
        raise ApiError("ORDER_NOT_FOUND", f"no open order {shown!r}")
    return value


def cancel(team_id: str, order: str) -> CancelOrder:
    return CancelOrder(team_id=team_id, order_id=order_id(order))


def request_id_header(value: str) -> str | None:
    """``X-Request-ID`` echoed in the envelope, if it is an id; otherwise one is made."""
    return value if 0 < len(value) <= MAX_ID_LENGTH and value.isprintable() else None


def cancel_all(team_id: str, instrument_id: str | None, instruments: Instruments) -> CancelAll:
    if instrument_id is not None:
        instrument_id = instrument(instruments, instrument_id)
    return CancelAll(team_id=team_id, instrument_id=instrument_id)


def page_args(args: Mapping[str, Any], cap: int) -> tuple[int, int]:
    """``after_seq`` (default 0) and ``limit`` (default and cap ``cap``) of ``GET /events``."""
    try:
        after = int(args.get("after_seq", 0))
        limit = int(args.get("limit", cap))
    except (TypeError, ValueError):
        raise ApiError("INVALID_REQUEST", "after_seq and limit must be integers") from None
    if after < 0 or limit < 1:
        raise ApiError("INVALID_REQUEST", "after_seq must be >= 0 and limit >= 1")
    return after, min(limit, cap)


def roster_args(args: Mapping[str, Any], cap: int) -> tuple[int, int]:
    """``offset`` (default 0) and ``limit`` (default and cap ``cap``) of ``GET /game/teams``."""
    try:
        offset = int(args.get("offset", 0))
        limit = int(args.get("limit", cap))
    except (TypeError, ValueError):
        raise ApiError("INVALID_REQUEST", "offset and limit must be integers") from None
    if offset < 0 or limit < 1:
        raise ApiError("INVALID_REQUEST", "offset must be >= 0 and limit >= 1")
    return offset, min(limit, cap)
