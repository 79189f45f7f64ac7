"""``/ws?api_key=K[&last_seq=N]``: a thin pure-ASGI WebSocket handler over ``Gateway``.

The design measured the WebSocket layer as the fan-out bottleneck (quart-trio's
websocket ~22k msgs/s, pure ASGI on hypercorn ~27k), so ``/ws`` bypasses Quart.
This task is the connection's one sender: it pulls from its ``Subscription`` (history,
then a bounded channel the fan-out fills without waiting) and awaits each send. Where
the server offers ``hypercorn_tuning.FRAMES`` (ours always does), every message ready
at that moment leaves in one send, one socket write: a resume or a burst costs one
write per ~256 KiB instead of one per message, and back-pressure is unchanged (the
next batch waits for this write). A second task reads the client's messages: its
disconnect, and its order entry (``gateway.web.ws_orders``). A write stalled for
``[gateway] slow_client_seconds`` aborts the connection
(``hypercorn_tuning.WriteGuard``). Close codes: ``gateway.errors``.

A ``last_seq`` older than the gateway keeps (in memory, and its spill on disk:
``gateway/service/streams.py``) is replayed from the log (``gateway/service/archive.py``,
a page at a time) and joins the live stream where memory takes over; with ``[gateway]
archive = false`` it is closed 4010 (snapshot required).

``&stream=0`` opens a socket for order entry alone: no stream, only the answers to
its requests.

``&heartbeat=1`` opts in to a ``heartbeat`` message every ``[gateway]
heartbeat_seconds`` carrying the seq of the last message sent on this connection, so a
quiet client can tell a silent market from a lost tail. It has no ``seq`` of its own,
which is why it is opt-in: the bot guide's sequence tracker expects one on every message.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import trio

from gateway.errors import (
    WS_BAD_KEY,
    WS_GATEWAY_FULL,
    WS_SLOW_CONSUMER,
    WS_SNAPSHOT_REQUIRED,
    WS_TOO_MANY_CONNECTIONS,
    WS_TRY_AGAIN,
    ApiError,
)
from gateway.projection.messages import encode_body, iso_timestamp, stream_frame
from gateway.service import Gateway
from gateway.service.streams import (
    SLOW_CONSUMER_REASON,
    SNAPSHOT_REQUIRED_REASON,
    SlowConsumer,
    SnapshotRequired,
    Subscription,
)
from gateway.web import ws_orders
from gateway.web.hypercorn_tuning import FRAMES
from gateway.web.refusals import UpgradeRefused, refusals

Scope = dict[str, Any]
Receive = Any
Send = Any

#: One send carries the messages ready up to about this many bytes.
BATCH_BYTES = 256 * 1024


async def accept(gw: Gateway, send: Send) -> bool:
    """Accept the upgrade; False, with one rate-limited log line, if it cannot be
    (hypercorn has answered 400: bytes came after the request), never a traceback."""
    try:
        await send(
            {"type": "websocket.accept", "headers": [(b"x-gateway-id", gw.gateway_id.encode())]}
        )
    except UpgradeRefused as exc:
        refusals.refused("a WebSocket upgrade", str(exc))
        return False
    return True


async def close_with(send: Send, code: int, reason: str) -> None:
    await send({"type": "websocket.close", "code": code, "reason": reason})


def _param(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


async def watch_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            scope.cancel()
            return
        # messages from a spectator's client are not part of the protocol: ignored


def heartbeat_frame(last_seq: int) -> str:
    body = encode_body("heartbeat", iso_timestamp(time.time_ns()), {"last_seq": last_seq})
    return (b"{" + body).decode()


async def _heartbeat(send: Send, interval: float, sent: list[int]) -> None:
    while True:
        await trio.sleep(interval)
        # ``sent`` moves only after a send completes: the frames on the wire are in
        # order, so a heartbeat never names a seq the client has not been sent
        await send({"type": "websocket.send", "text": heartbeat_frame(sent[0])})


async def handle(gw: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    streams = gw.streams
    full = streams.sockets >= gw.settings.ws_max_connections
    streams.sockets += 1  # counted from the upgrade on, keyed or not
    try:
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        # accept first, so a refusal reaches the client as a close code, not an HTTP 403
        if not await accept(gw, send):
            return
        if full:
            limit = gw.settings.ws_max_connections
            await close_with(send, WS_GATEWAY_FULL, f"gateway full (at most {limit} connections)")
            return
        await _serve(gw, scope, receive, send)
    finally:
        streams.sockets -= 1


async def _from_archive(
    gw: Gateway, team_id: str, send: Send, framed: bool, sent: list[int]
) -> Subscription:
    """Send the team's messages after ``sent[0]`` from the log, a page at a time, until
    memory holds the rest; the subscription that carries on from there.

    Memory's window moves on while the pages are folded (a busy team's stream gains more
    than ``events_history`` messages during a slow replay), so the join is tried after
    every page, not once: the client sees each seq once, with no seam at the join.
    ``SnapshotRequired`` if the archive is off (``Gateway.old_messages``) or has nothing
    where memory has already moved on.
    """
    metrics = gw.metrics
    while True:
        try:
            return gw.streams.subscribe(team_id, sent[0])
        except SnapshotRequired:
            page = await gw.old_messages(team_id, sent[0], gw.settings.events_page_max)
            if not page:
                raise
        frames = [stream_frame(seq, body) for seq, body in page]
        if framed:  # one socket write for the page, as a live burst
            await send({"type": FRAMES, "texts": frames})
        else:
            for frame in frames:
                await send({"type": "websocket.send", "text": frame.decode()})
        sent[0] = page[-1][0]
        metrics.ws_messages_sent += len(frames)


async def _serve(gw: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        # a team registered (or a last_seq reached) through another gateway is known here
        await gw.read_barrier()
    except ApiError:
        await close_with(send, WS_TRY_AGAIN, "this gateway is behind the log: reconnect")
        return
    api_key = _param(params, "api_key") or ""
    try:
        team = gw.authenticate(api_key)
    except ApiError:
        await close_with(send, WS_BAD_KEY, "invalid api_key")
        return
    raw_last = _param(params, "last_seq")
    last_seq: int | None = None
    if raw_last is not None:
        try:
            last_seq = int(raw_last)
        except ValueError:
            last_seq = -1
        if last_seq < 0:
            await close_with(send, WS_BAD_KEY, "last_seq must be an integer >= 0")
            return
    heartbeat = _param(params, "heartbeat")
    if heartbeat not in (None, "0", "1", "true", "false"):
        await close_with(send, WS_BAD_KEY, "heartbeat must be 1 or 0")
        return
    connections = gw.streams.connections
    limit = gw.settings.ws_max_connections_per_team
    if connections.get(team.team_id, 0) >= limit:
        await close_with(send, WS_TOO_MANY_CONNECTIONS, f"too many connections (at most {limit})")
        return
    stream = _param(params, "stream")
    if stream not in (None, "0", "1", "true", "false"):
        await close_with(send, WS_BAD_KEY, "stream must be 1 or 0")
        return
    if stream in ("0", "false"):
        framed = FRAMES in scope.get("extensions", {})
        await _orders_only(gw, team.team_id, api_key, receive, send, framed)
        return
    subscription: Subscription | None = None
    try:
        first, subscription = gw.open_stream(team, last_seq)
    except SnapshotRequired:
        # older than memory: replayed from the log first (_from_archive), which closes
        # 4010 like any SnapshotRequired when the archive is off
        first = None
    connections[team.team_id] = connections.get(team.team_id, 0) + 1
    close: tuple[int, str] | None = None
    metrics = gw.metrics
    framed = FRAMES in scope.get("extensions", {})
    try:
        async with trio.open_nursery() as nursery:
            # the client's messages are order entry (gateway.web.ws_orders)
            requests = ws_orders.Requests(gw, api_key, send, FRAMES in scope.get("extensions", {}))
            nursery.start_soon(requests.receive, receive, nursery)
            sent = [last_seq or 0]  # the seq of the last message sent
            if heartbeat in ("1", "true"):
                nursery.start_soon(_heartbeat, send, gw.settings.heartbeat_seconds, sent)
            try:
                if subscription is None:
                    subscription = await _from_archive(gw, team.team_id, send, framed, sent)
                if first is not None:  # a snapshot, whose seq is where the stream resumes
                    await send({"type": "websocket.send", "text": first.decode()})
                    sent[0] = subscription.next_seq - 1
                while framed:
                    batch = await subscription.next_batch(BATCH_BYTES)
                    await send({"type": FRAMES, "texts": batch})
                    sent[0] = subscription.next_seq - 1
                    metrics.ws_messages_sent += len(batch)
                while True:
                    seq, message = await subscription.next()
                    await send({"type": "websocket.send", "text": message.decode()})
                    sent[0] = seq
                    metrics.ws_messages_sent += 1
            except SlowConsumer:
                close = (WS_SLOW_CONSUMER, SLOW_CONSUMER_REASON)
            except SnapshotRequired:
                close = (WS_SNAPSHOT_REQUIRED, SNAPSHOT_REQUIRED_REASON)
            nursery.cancel_scope.cancel()
    finally:
        if subscription is not None:
            subscription.close()
        connections[team.team_id] -= 1
    if close is not None:
        await close_with(send, *close)


async def _orders_only(
    gw: Gateway, team_id: str, api_key: str, receive: Receive, send: Send, framed: bool
) -> None:
    """``stream=0``: a socket for order entry alone, with no stream (a bot that follows
    its stream on another socket saves the gateway a second copy of it)."""
    connections = gw.streams.connections
    connections[team_id] = connections.get(team_id, 0) + 1
    try:
        async with trio.open_nursery() as nursery:
            requests = ws_orders.Requests(gw, api_key, send, framed)
            nursery.start_soon(requests.receive, receive, nursery)
    finally:
        connections[team_id] -= 1
