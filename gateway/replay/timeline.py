"""One team's events over a recording, for the replay viewer's debugger.

``GET /replay/team?team=ID`` answers with every order accepted, fill, cancel and
refusal of that team, each with the seq it is at and the tick it fell in, so the page
can draw them on the price chart (with ``prices``, each touched instrument's fair value
per tick) and step from one to the next without a fold per
event. One scan of the log per (recording, head, team), kept for the next request: a
recording does not grow under ``replay serve``, and a bot author looks at one team.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import log as logmod
from engine.money import to_dollars
from engine.records import (
    MarketData,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    TeamRegistered,
    TickStarted,
    Trade,
)

Event = dict[str, Any]

_scans: dict[tuple[Path, int, str], dict[str, Any]] = {}


def _fill(r: Trade, team: str, tick: int) -> Event | None:
    # a self-trade is both sides of one team: shown once, as the taker's
    if r.taker_team_id == team:
        side = "sell" if r.maker_side == "buy" else "buy"
        order_id, liquidity, fee = r.taker_order_id, "taker", r.taker_fee
    elif r.maker_team_id == team:
        side, order_id, liquidity, fee = r.maker_side, r.maker_order_id, "maker", r.maker_fee
    else:
        return None
    return {
        "kind": "fill",
        "seq": r.seq,
        "tick_number": tick,
        "instrument_id": r.instrument_id,
        "side": side,
        "price": to_dollars(r.price),
        "quantity": r.quantity,
        "order_id": order_id,
        "liquidity": liquidity,
        "fee": to_dollars(fee),
    }


def _event(r: Any, team: str, tick: int) -> Event | None:
    if isinstance(r, Trade):
        return _fill(r, team, tick)
    if getattr(r, "team_id", None) != team:
        return None
    base: Event = {"seq": r.seq, "tick_number": tick}
    if isinstance(r, OrderAccepted):
        return base | {
            "kind": "order",
            "instrument_id": r.instrument_id,
            "side": r.side,
            "price": to_dollars(r.price),
            "quantity": r.quantity,
            "order_id": r.order_id,
            "order_type": r.order_type,
        }
    if isinstance(r, OrderCancelled):
        return base | {
            "kind": "cancel",
            "instrument_id": r.instrument_id,
            "side": r.side,
            "quantity": r.cancelled_quantity,
            "order_id": r.order_id,
            "reason": r.reason,
        }
    if isinstance(r, OrderRejected):
        return base | {
            "kind": "refusal",
            "instrument_id": r.instrument_id,
            "code": r.code,
            "message": r.message,
            "command": r.command,
        }
    return None


def team_events(data_dir: Path, team: str) -> dict[str, Any]:
    """``{head_seq, team_id, team_name, role, events}``; ``team`` is an id or a name."""
    with logmod.open_reader(logmod.log_directory(data_dir)) as reader:
        head = reader.head_seq
        key = (data_dir, head, team)
        if key not in _scans:
            _scans.clear()  # one team at a time is what the viewer asks for
            _scans[key] = _scan(reader.read(1, head), team)
    return {"head_seq": head, **_scans[key]}


def _scan(records: Any, team: str) -> dict[str, Any]:
    found: dict[str, Any] = {"team_id": team, "team_name": None, "role": None}
    events: list[Event] = []
    prices: dict[str, dict[int, float]] = {}  # instrument -> tick -> its price then
    tick = 0
    for r in records:
        if isinstance(r, TickStarted):
            tick = r.tick_number
        elif isinstance(r, MarketData):
            price = _price(r)
            if price is not None:
                prices.setdefault(r.instrument_id, {})[tick] = price
        elif isinstance(r, TeamRegistered) and team in (r.team_id, r.team_name):
            found = {"team_id": r.team_id, "team_name": r.team_name, "role": r.role}
        else:
            event = _event(r, found["team_id"], tick)
            if event is not None:
                events.append(event)
    touched = {e["instrument_id"] for e in events if e.get("instrument_id")}
    return {
        **found,
        "events": events,
        # the chart's line under the team's markers, for the instruments it touched
        "prices": {i: sorted(prices[i].items()) for i in sorted(touched) if i in prices},
    }


def _price(r: MarketData) -> float | None:
    """The model's fair value, else the mid, else the last trade: what the line shows."""
    if r.fair is not None:
        return to_dollars(r.fair)
    if r.bid is not None and r.ask is not None:
        return to_dollars((r.bid + r.ask) // 2)
    return to_dollars(r.last)
