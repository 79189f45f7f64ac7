"""One readable line per stream message, for ``tradepit follow``.

A line starts with the message's seq (right-aligned, so a column of them reads as a
counter) and its time of day, then what happened in words a trader reads: ``FILL buy
5 SPX_4400_CALL @ 12.50``. Every type of the teams' stream (docs/protocol.md) and of the
public stream (docs/dashboard.md) has its form; a type this version does not know is
printed with its data as JSON, so nothing the server adds is hidden.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Data = dict[str, Any]


def money(value: Any) -> str:
    """A price or an amount in dollars; ``-`` when absent (an empty side, no trade yet)."""
    return "-" if value is None else f"{value:,.2f}"


def _side(bid: Any, bid_size: Any, ask: Any, ask_size: Any) -> str:
    return f"{money(bid)} x{bid_size or 0} / {money(ask)} x{ask_size or 0}"


def _snapshot(d: Data) -> str:
    held = ", ".join(f"{k} {v:+d}" for k, v in sorted(d.get("positions", {}).items()) if v)
    return (
        f"SNAPSHOT {d.get('team_id')} ({d.get('role')}) tick {d.get('tick_number')}"
        f" {d.get('phase')}: cash {money(d.get('cash'))}, P&L {money(d.get('pnl'))},"
        f" {len(d.get('open_orders', []))} open orders; positions {held or 'none'}"
    )


def _ack(d: Data) -> str:
    price = "market" if d.get("price") is None else f"@ {money(d['price'])}"
    kind = "quote" if d.get("quote") else d.get("order_type", "order")
    return (
        f"ACK {d.get('side')} {d.get('quantity')} {d.get('instrument_id')} {price}"
        f" ({kind}) {d.get('order_id')}"
    )


def _fill(d: Data) -> str:
    return (
        f"FILL {d.get('side')} {d.get('executed_quantity')} {d.get('instrument_id')}"
        f" @ {money(d.get('executed_price'))} ({d.get('liquidity_type')}, fee"
        f" {money(d.get('fees'))}) {d.get('order_id')}, {d.get('remaining_quantity')} left"
    )


def _cancel(d: Data) -> str:
    return (
        f"CANCEL {d.get('side')} {d.get('cancelled_quantity')} {d.get('instrument_id')}"
        f" {d.get('order_id')} ({d.get('reason') or 'user'})"
    )


def _market(d: Data) -> str:
    fair = f", fair {money(d['fair'])}" if "fair" in d else ""
    bid_ask = _side(d.get("bid"), d.get("bid_size"), d.get("ask"), d.get("ask_size"))
    return f"MARKET {d.get('instrument_id')} {bid_ask}, last {money(d.get('last'))}{fair}"


def _event(d: Data) -> str:
    kind = d.get("event_type")
    if kind == "news":
        return f"NEWS {d.get('headline')!r} (impact {d.get('impact', '?')})"
    if kind == "phase_changed":
        return f"PHASE {d.get('previous')} -> {d.get('phase')}"
    if kind == "competition_ended":
        return f"CLOSING BELL: standings frozen at seq {d.get('final_seq')}"
    return f"EVENT {kind}"


def _signal(d: Data) -> str:
    rest = {k: v for k, v in d.items() if k != "signal_type"}
    return f"SIGNAL {d.get('signal_type')} {json.dumps(rest, separators=(',', ':'))}"


def _score(d: Data) -> str:
    met = "met" if d.get("requirements_met") else f"unmet {d.get('unmet')}"
    return (
        f"SCORE rank {d.get('rank')}: score {money(d.get('score'))}, P&L"
        f" {money(d.get('pnl'))}, {d.get('trades')} trades, requirements {met}"
    )


def _dashboard(d: Data) -> str:
    return (
        f"SNAPSHOT session {d.get('session_id')} tick {d.get('tick_number')} {d.get('phase')}:"
        f" SPX {money(d.get('spx'))}, SPY {money(d.get('spy'))},"
        f" {len(d.get('instruments', []))} instruments"
    )


def _trades(d: Data) -> str:
    trades = d.get("trades", [])
    shown = "; ".join(
        f"{t.get('aggressor')} {t.get('quantity')} {t.get('instrument_id')}"
        f" @ {money(t.get('price'))}"
        for t in trades[:5]
    )
    more = f" (+{len(trades) - 5} more)" if len(trades) > 5 else ""
    return f"TRADES {len(trades)}: {shown}{more}"


def _leaderboard(d: Data) -> str:
    leaders = []
    for role, rows in sorted((d.get("roles") or {}).items()):
        if rows:
            top = rows[0]
            leaders.append(f"{role} {top.get('team_name')} {money(top.get('score'))}")
    return f"LEADERBOARD tick {d.get('tick_number')}: " + ("; ".join(leaders) or "no teams")


FORMS: dict[str, Callable[[Data], str]] = {
    # the team's stream
    "position_snapshot": _snapshot,
    "new_order_ack": _ack,
    "execution_report": _fill,
    "order_cancelled": _cancel,
    "market_data": _market,
    "tick_start": lambda d: f"TICK {d.get('tick_number')} {d.get('phase')}",
    "event": _event,
    "signal": _signal,
    "score_update": _score,
    # the public stream
    "dashboard_snapshot": _dashboard,
    "tick": lambda d: f"TICK {d.get('tick_number')} {d.get('phase')}",
    "phase": lambda d: f"PHASE {d.get('previous')} -> {d.get('phase')}",
    "prices": lambda d: f"PRICES SPX {money(d.get('spx'))}, SPY {money(d.get('spy'))}",
    "quotes": lambda d: f"QUOTES {len(d.get('quotes', []))} instruments",
    "books": lambda d: f"BOOKS {len(d.get('books', []))} changed",
    "trades": _trades,
    "news": lambda d: f"NEWS {d.get('headline')!r}",
    "leaderboard": _leaderboard,
}


def line(message: Data) -> str:
    """The printed line of one message: ``seq  time  what``."""
    kind = str(message.get("type"))
    data = message.get("data") or {}
    form = FORMS.get(kind)
    text = form(data) if form else f"{kind} {json.dumps(data, separators=(',', ':'))}"
    # "2026-12-02T07:05:20.027788Z" -> "07:05:20.027": the date is the session's
    stamp = str(message.get("timestamp", ""))[11:23]
    return f"{message.get('seq', '-'):>8}  {stamp:<12}  {text}"
