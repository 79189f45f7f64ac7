"""``/ws/public[?last_seq=N]``: the dashboard's stream, no key, public data only.

The same shape as ``/ws`` (``gateway.web.ws``): accept, then a snapshot at the head or
the history after ``last_seq``, then live frames batched per socket write, a bounded
buffer and the same close codes. A page is written at most every ``[gateway]
public_batch_seconds`` (0.25 s), with everything that arrived since: a dashboard needs
no more, and a hundred of them then cost the bots' acks little. These anonymous sockets
have a cap of their own, ``[gateway] ws_max_public_connections``, apart from the teams'
``ws_max_connections``: a hundred spectators once took every slot and locked each team
out of its stream (issue 38 point 4).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs

import trio

from gateway.errors import (
    WS_BAD_KEY,
    WS_GATEWAY_FULL,
    WS_SLOW_CONSUMER,
    WS_SNAPSHOT_REQUIRED,
    WS_TRY_AGAIN,
    ApiError,
)
from gateway.service import Gateway
from gateway.service.streams import (
    SLOW_CONSUMER_REASON,
    SNAPSHOT_REQUIRED_REASON,
    SlowConsumer,
    SnapshotRequired,
)
from gateway.web.hypercorn_tuning import FRAMES
from gateway.web.ws import BATCH_BYTES, accept, close_with, watch_disconnect

PATH = "/ws/public"
#: Pages are written every ``[gateway] public_batch_seconds``, each at its own phase
#: (one of PHASES through the interval, by the order they opened), so a hundred pages
#: take two slots each 5 ms apart at the default 0.25 s and never write in one
#: scheduler round with a bot's ack behind them. (Extra checkpoints per page did this
#: before, at the cost of a seventh of the gateway's CPU in scheduler rounds: py-spy.)
PHASES = 50


def _slot(now: float, interval: float, phase: float) -> float:
    """The page's next write time: the first ``phase + k * interval`` after ``now``.

    On a fixed grid of the clock, and a page with nothing to send waits for its next
    slot, not for the next message: a page that waited for data would wake with the
    next burst of the public stream, and so would every other page that had nothing,
    until all hundred were in step again (bursts come at least 0.25 s apart in log
    time, so a little more than the interval) and wrote in one scheduler round: about
    15 ms of the gateway's loop held behind a bot's ack (a trio instrument's trace of
    ``bench dashboard``, 2026-12-04).
    """
    return phase + (math.floor((now - phase) / interval) + 1) * interval


def _last_seq(query: bytes) -> int | None:
    """``last_seq`` from the query; -1 when it is not an integer >= 0."""
    values = parse_qs(query.decode("latin-1")).get("last_seq")
    if not values:
        return None
    text = values[-1]
    return int(text) if text.isdigit() else -1


async def handle(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    public = gw.public
    limit = gw.settings.ws_max_public_connections
    full = public.sockets >= limit
    public.sockets += 1
    try:
        if (await receive())["type"] != "websocket.connect":
            return
        if not await accept(gw, send):
            return
        if full:
            await close_with(send, WS_GATEWAY_FULL, f"public streams full (at most {limit})")
            return
        await _serve(gw, scope, receive, send)
    finally:
        public.sockets -= 1


async def _serve(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    last_seq = _last_seq(scope.get("query_string", b""))
    if last_seq == -1:
        await close_with(send, WS_BAD_KEY, "last_seq must be an integer >= 0")
        return
    try:
        await gw.read_barrier()
    except ApiError:
        await close_with(send, WS_TRY_AGAIN, "this gateway is behind the log: reconnect")
        return
    try:
        first, subscription = gw.public.open(gw.projection, last_seq)
    except SnapshotRequired:
        await close_with(send, WS_SNAPSHOT_REQUIRED, SNAPSHOT_REQUIRED_REASON)
        return
    close: tuple[int, str] | None = None
    framed = FRAMES in scope.get("extensions", {})
    interval = gw.settings.public_batch_seconds
    phase = interval * (gw.public.opened % PHASES) / PHASES
    gw.public.opened += 1
    gw.public.connections += 1
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_disconnect, receive, nursery.cancel_scope)
            try:
                if first is not None:
                    await send({"type": "websocket.send", "text": first.decode()})
                while framed and interval:
                    await trio.sleep_until(_slot(trio.current_time(), interval, phase))
                    batch = subscription.take(BATCH_BYTES)
                    # a full batch: a resume still has history to send, at once
                    while batch and sum(map(len, batch)) >= BATCH_BYTES:
                        await send({"type": FRAMES, "texts": batch})
                        batch = subscription.take(BATCH_BYTES)
                    if batch:
                        await send({"type": FRAMES, "texts": batch})
                while framed:
                    batch = await subscription.next_batch(BATCH_BYTES)
                    await send({"type": FRAMES, "texts": batch})
                while True:
                    _, message = await subscription.next()
                    await send({"type": "websocket.send", "text": message.decode()})
            except SlowConsumer:
                close = (WS_SLOW_CONSUMER, SLOW_CONSUMER_REASON)
            except SnapshotRequired:
                close = (WS_SNAPSHOT_REQUIRED, SNAPSHOT_REQUIRED_REASON)
            nursery.cancel_scope.cancel()
    finally:
        subscription.close()
        gw.public.connections -= 1
    if close is not None:
        await close_with(send, *close)
