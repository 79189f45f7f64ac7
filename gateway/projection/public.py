"""The public view of the log: what a spectator's dashboard may see, record by record.

A pure function of the projection just after it folded a record: ticks, phases, news,
model prices, the top of each book an order touched, anonymous trades and the
leaderboard. Never a signal (those are a role's edge), never an ack, a fill or a
position (those are one team's), never a team id on a trade. Every gateway folding
the same log computes the same public messages in the same order, so their seqs agree
across gateways and a dashboard resumes on any of them.

Bodies are made by ``body`` (not the ``StreamMessage`` class): they are the dashboard's
vocabulary, documented in docs/dashboard.md, not the teams' stream.
"""

from __future__ import annotations

from typing import Any

from engine.money import to_dollars
from engine.records import (
    AnyRecord,
    MarketData,
    News,
    PhaseChanged,
    TickStarted,
    Trade,
    UnderlyingPrices,
)
from gateway import scoring
from gateway.projection.fold import Projection
from gateway.projection.messages import encode_body, iso_timestamp

#: Levels per side on the public ladder.
DEPTH = 5

SNAPSHOT = "dashboard_snapshot"
TICK = "tick"
PHASE = "phase"
PRICES = "prices"
BOOK = "book"
TRADE = "trade"
#: What ``PublicStream`` sends of them: one message per burst each (see there).
QUOTES = "quotes"
BOOKS = "books"
TRADES = "trades"
NEWS = "news"
LEADERBOARD = "leaderboard"


def body(kind: str, ts_ns: int, data: dict[str, Any]) -> bytes:
    return encode_body(kind, iso_timestamp(ts_ns), data)


def book(p: Projection, instrument_id: str) -> dict[str, Any]:
    """``GET /book``'s view without its seq and timestamp (a burst carries one of each)."""
    # made here rather than cut from ``book_view``: a burst makes one per touched book
    depth = p.books.get(instrument_id)
    top = depth.top(DEPTH) if depth is not None else {"bids": [], "asks": []}
    return {
        "instrument_id": instrument_id,
        "bids": top["bids"],
        "asks": top["asks"],
        "last": to_dollars(p.last_price.get(instrument_id)),
        "mark": to_dollars(p.mark(instrument_id)),
        "fair": to_dollars(p.marks.get(instrument_id)),
    }


def leaderboard(p: Projection) -> dict[str, Any] | None:
    """The standings, unless the organiser made them key-only."""
    if not p.scorer.settings.public_leaderboard:
        return None
    return scoring.leaderboard(p.scorer)


#: Points of each team's P&L history in a snapshot, evenly spaced over its ticks: a page
#: opened late still draws the race and the sparklines from the start. Built once per
#: connection, never per burst, so the pages' steady cost stays what it was.
HISTORY_POINTS = 120


def history(p: Projection) -> dict[str, list[list[Any]]] | None:
    """Per team, ``[tick, pnl, score]`` at most ``HISTORY_POINTS`` times, the last tick
    always among them; None when the leaderboard is not public."""
    if not p.scorer.settings.public_leaderboard:
        return None
    out: dict[str, list[list[Any]]] = {}
    for team in p.scorer.teams.values():
        s = team.series
        n = len(s.tick)
        picked = list(range(0, n, max(1, -(-n // HISTORY_POINTS))))
        if n and picked[-1] != n - 1:
            picked.append(n - 1)
        out[team.team_id] = [
            [s.tick[i], to_dollars(s.pnl[i]), to_dollars(s.score[i])] for i in picked
        ]
    return out


def trade(r: Trade, tick_number: int) -> dict[str, Any]:
    return {
        "trade_id": r.trade_id,
        "instrument_id": r.instrument_id,
        "price": to_dollars(r.price),
        "quantity": r.quantity,
        # the side that crossed the spread; who traded stays private
        "aggressor": "sell" if r.maker_side == "buy" else "buy",
        "tick_number": tick_number,
    }


def quote(r: MarketData) -> dict[str, Any]:
    return {
        "instrument_id": r.instrument_id,
        "bid": to_dollars(r.bid),
        "ask": to_dollars(r.ask),
        "last": to_dollars(r.last),
        "fair": to_dollars(r.fair),
    }


def news(r: News) -> dict[str, Any]:
    return {"headline": r.headline, "tick_number": r.tick_number}


def messages(p: Projection, record: AnyRecord) -> list[tuple[str, dict[str, Any]]]:
    """The public messages ``record`` causes, ``(type, data)``; ``p`` has folded it.

    Orders, cancels and market data (nine records in ten) never get here:
    ``PublicStream.publish`` takes them first, naming the touched book or keeping the
    last market data, whose quote (``quote``) it makes when a burst sends it.
    """
    match record:
        case TickStarted():
            return [(TICK, {"tick_number": record.tick_number, "phase": record.phase})]
        case PhaseChanged():
            return [(PHASE, {"phase": record.phase, "previous": record.previous})]
        case UnderlyingPrices():
            prices = {
                "tick_number": p.tick_number,
                "spx": to_dollars(record.spx),
                "spy": to_dollars(record.spy),
                "fair": {k: to_dollars(v) for k, v in record.fair.items()},
            }
            return [(PRICES, prices)]  # and the standings move: ``PublicStream`` sends them
        case News():
            return [(NEWS, news(record))]
        case Trade():  # and its book is touched: ``PublicStream`` sends its top per burst
            touched = {"instrument_id": record.instrument_id}
            return [(TRADE, trade(record, p.tick_number)), (BOOK, touched)]
    return []


def snapshot(
    p: Projection, trades: list[dict[str, Any]], headlines: list[dict[str, Any]]
) -> dict[str, Any]:
    """Everything the page draws, at the projection's seq; ``trades`` and ``headlines``
    are the recent ones the stream keeps."""
    return {
        "session_id": p.session_id,
        "log_seq": p.applied_seq,
        "phase": p.phase,
        "tick_number": p.tick_number,
        "spx": to_dollars(p.marks.get("SPX")),
        "spy": to_dollars(p.marks.get("SPY")),
        "instruments": [
            {
                "instrument_id": i.id,
                "underlying": i.underlying,
                "kind": i.kind,
                "strike": to_dollars(i.strike),
            }
            for i in p.instruments.values()
        ],
        "books": [book(p, i) for i in p.instruments],
        "quotes": [quote(md) for md in p.market.values()],
        "trades": trades,
        "news": headlines,
        "leaderboard": leaderboard(p),
        "history": history(p),
    }
