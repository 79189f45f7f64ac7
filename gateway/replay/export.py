"""``tradepit replay export``: a session's trades, orders, prices or messages as CSV or JSONL.

Rows are flat and typed for pandas/polars: prices in dollars (floats from exact cents),
times as integer nanoseconds plus an ISO-8601 UTC column.
"""

from __future__ import annotations

import csv
import datetime
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

import msgspec

from engine.money import to_dollars
from engine.records import (
    AnyRecord,
    MarketData,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Trade,
    UnderlyingPrices,
)

Row = dict[str, Any]  # scalars, except ``messages``' ``data``: the object the stream sent


def iso(ts: int) -> str:
    return datetime.datetime.fromtimestamp(ts / 1e9, datetime.UTC).isoformat(
        timespec="microseconds"
    )


def trades(records: Iterable[AnyRecord], team: str | None) -> Iterator[Row]:
    for r in records:
        if not isinstance(r, Trade):
            continue
        buyer_is_maker = r.maker_side == "buy"
        buyer = r.maker_team_id if buyer_is_maker else r.taker_team_id
        seller = r.taker_team_id if buyer_is_maker else r.maker_team_id
        if team is not None and team not in (buyer, seller):
            continue
        yield {
            "seq": r.seq,
            "ts": r.ts,
            "time": iso(r.ts),
            "trade_id": r.trade_id,
            "instrument_id": r.instrument_id,
            "price": to_dollars(r.price),
            "quantity": r.quantity,
            "buyer": buyer,
            "seller": seller,
            "aggressor": "sell" if buyer_is_maker else "buy",
            "buy_order_id": r.maker_order_id if buyer_is_maker else r.taker_order_id,
            "sell_order_id": r.taker_order_id if buyer_is_maker else r.maker_order_id,
            "buy_fee": to_dollars(r.maker_fee if buyer_is_maker else r.taker_fee),
            "sell_fee": to_dollars(r.taker_fee if buyer_is_maker else r.maker_fee),
        }


def orders(records: Iterable[AnyRecord], team: str | None) -> Iterator[Row]:
    for r in records:
        if isinstance(r, OrderAccepted | OrderCancelled | OrderRejected):
            if team is not None and r.team_id != team:
                continue
            row: Row = {"seq": r.seq, "ts": r.ts, "time": iso(r.ts)}
            if isinstance(r, OrderAccepted):
                row |= {
                    "event": "duplicate" if r.duplicate else "accepted",
                    "order_id": r.order_id,
                    "team_id": r.team_id,
                    "instrument_id": r.instrument_id,
                    "side": r.side,
                    "order_type": r.order_type,
                    "price": to_dollars(r.price),
                    "quantity": r.quantity,
                    "client_order_id": r.client_order_id,
                    "quote": r.quote,
                    "detail": None,
                }
            elif isinstance(r, OrderCancelled):
                row |= {
                    "event": "cancelled",
                    "order_id": r.order_id,
                    "team_id": r.team_id,
                    "instrument_id": r.instrument_id,
                    "side": r.side,
                    "order_type": None,
                    "price": None,
                    "quantity": r.cancelled_quantity,
                    "client_order_id": r.client_order_id,
                    "quote": None,
                    "detail": r.reason,
                }
            else:
                row |= {
                    "event": "rejected",
                    "order_id": r.order_id,
                    "team_id": r.team_id,
                    "instrument_id": r.instrument_id,
                    "side": None,
                    "order_type": None,
                    "price": None,
                    "quantity": None,
                    "client_order_id": r.client_order_id,
                    "quote": None,
                    "detail": r.code,
                }
            yield row


def prices(records: Iterable[AnyRecord], team: str | None) -> Iterator[Row]:
    tick = 0
    for r in records:
        if isinstance(r, UnderlyingPrices):
            tick = r.tick_number
            for iid, cents in (("SPX", r.spx), ("SPY", r.spy)):
                yield {
                    "seq": r.seq,
                    "ts": r.ts,
                    "time": iso(r.ts),
                    "tick": tick,
                    "source": "model",
                    "instrument_id": iid,
                    "bid": None,
                    "ask": None,
                    "last": None,
                    "fair": to_dollars(cents),
                    "regime": r.regime,
                }
        elif isinstance(r, MarketData):
            yield {
                "seq": r.seq,
                "ts": r.ts,
                "time": iso(r.ts),
                "tick": tick,
                "source": "book",
                "instrument_id": r.instrument_id,
                "bid": to_dollars(r.bid),
                "ask": to_dollars(r.ask),
                "last": to_dollars(r.last),
                "fair": to_dollars(r.fair),
                "regime": None,
            }


EXPORTERS: dict[str, Callable[[Iterable[AnyRecord], str | None], Iterator[Row]]] = {
    "trades": trades,
    "orders": orders,
    "prices": prices,
}


def write(rows: Iterable[Row], fmt: str, out: TextIO = sys.stdout) -> int:
    count = 0
    if fmt == "jsonl":
        encoder = msgspec.json.Encoder()
        for row in rows:
            out.write(encoder.encode(row).decode())
            out.write("\n")
            count += 1
        return count
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
            writer.writeheader()
        # a CSV cell is text: a nested object goes in as its JSON
        writer.writerow({k: _cell(v) for k, v in row.items()})
        count += 1
    return count


def _cell(value: Any) -> Any:
    return msgspec.json.encode(value).decode() if isinstance(value, dict | list) else value


def messages(records: Iterable[AnyRecord], team: str | None) -> Iterator[Row]:
    """Every team's stream messages (or one team's), exactly as the WebSocket sends them."""
    from gateway.projection.fold import Projection
    from gateway.projection.messages import stream_frame

    projection = Projection()
    decoder = msgspec.json.Decoder()
    for record in records:
        for delivery in projection.step(record):
            if team is not None and delivery.team_id != team:
                continue
            message = decoder.decode(stream_frame(delivery.seq, delivery.body))
            yield {
                "team_id": delivery.team_id,
                "seq": delivery.seq,
                "type": message["type"],
                "timestamp": message["timestamp"],
                "data": message["data"],  # JSONL: the object; CSV: its JSON text
            }


EXPORTERS["messages"] = messages


def scores(records: Iterable[AnyRecord], team: str | None) -> Iterator[Row]:
    """Every scored team's per-tick series (P&L, score, position, delta, coverage)."""
    from gateway.scoring import Scorer, rows

    scorer = Scorer()
    for record in records:
        scorer.apply(record)
    for row in rows(scorer):
        if team is None or row["team_id"] == team:
            yield row


EXPORTERS["scores"] = scores


def export(args: Any) -> int:
    from engine import log as logmod

    log_dir = args.data_dir / "log" if (args.data_dir / "log").is_dir() else args.data_dir
    try:
        with logmod.open_reader(log_dir) as reader:
            count = write(EXPORTERS[args.what](reader.read(1), args.team), args.format)
    except logmod.LogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"exported {count} {args.what} rows", file=sys.stderr)
    return 0
