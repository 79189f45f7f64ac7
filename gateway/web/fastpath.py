"""``POST /orders`` as plain ASGI, in front of Quart.

The hottest write skips Quart's request machinery, which took about half of the
gateway's CPU under an order load (py-spy, ``./scripts/bench e2e``). Nothing else
changes: the same body limit, authentication, validation, engine call and envelope as
the Quart route, whose handler stays for every other method and path.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from gateway.errors import ApiError
from gateway.service import Gateway
from gateway.web import validate
from gateway.web.envelope import envelope_body, error_answer, internal_error, new_request_id
from gateway.web.hypercorn_stream import receive_now

log = logging.getLogger("tradepit.gateway")

PATHS = ("/orders", "/exchange/orders")


def handles(scope: dict[str, Any]) -> bool:
    return scope.get("method") == "POST" and scope.get("path") in PATHS


async def submit_order(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = dict(scope.get("headers") or ())
    given = headers.get(b"x-request-id", b"").decode("latin-1")
    request_id = validate.request_id_header(given) or new_request_id()
    order_id: str | None = None
    stream_of: str | None = None  # the team whose stream head a success names
    extra: list[tuple[bytes, bytes]] = []
    try:
        body = await _body(receive, gw.settings.max_body_bytes)
        key = headers.get(b"x-api-key", b"").decode("latin-1") or None
        try:
            team = gw.trader(key)
        except ApiError:
            # a key registered (or a team enabled again) through another gateway is known
            # once this one has what was committed when the request came. A key known
            # already needs no wait: the engine judges the order against its own state,
            # and the answer waits for the order's records (X-Log-Seq covers the arrival)
            await gw.read_barrier()
            team = gw.trader(key)
        me, p = team, gw.projection
        data = await gw.write(me, "order", lambda: validate.order(body, me.team_id, p.config, p))
        order_id = data["order_id"]
        status, payload = 200, envelope_body(data, request_id, order_id=order_id)
        stream_of = me.team_id
        if data["fills"]:
            # the counterparties' stream senders, woken by this order's records, write
            # before this answer: a maker hears of its fill no later than the taker of
            # its ack. The answer's write no longer yields first (hypercorn_tuning's
            # send lock), which had given them that turn: without it the maker's fill
            # p99 in bench regress went from 10 to 28 ms
            await trio.lowlevel.checkpoint()
    except ApiError as error:
        status, payload, headers = error_answer(error, request_id)
        extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    except Exception:
        log.exception("unhandled error in POST /orders")
        status, payload, _ = error_answer(internal_error(), request_id)
    seq = gw.projection.applied_seq  # the answer was built since the last await
    if stream_of is not None:  # what the order caused is in the team's stream up to here
        extra.append((b"x-stream-seq", str(gw.streams.head(stream_of)).encode()))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                # a length, not chunks: the answer goes out in two writes instead of three
                (b"content-length", str(len(payload)).encode()),
                (b"x-gateway-id", gw.gateway_id.encode()),
                (b"x-log-seq", str(seq).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive_now(receive)  # the body is nearly always there already
        if message["type"] == "http.disconnect":
            raise ApiError("INVALID_REQUEST", "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(
                "PAYLOAD_TOO_LARGE", f"request bodies are limited to {limit} bytes", status=413
            )
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
