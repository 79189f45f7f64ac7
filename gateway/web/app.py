"""The gateway's ASGI application: ``/ws`` to the pure-ASGI handler, the rest to Quart.

One host:port serves both, as the seed's URLs require. The dispatcher also times every
HTTP request for the latency histogram of ``/metrics``.
"""

from __future__ import annotations

import time
from typing import Any

import trio

from gateway.replay.paced import Replaying
from gateway.service import Gateway
from gateway.web import fastpath, hypercorn_tuning, public_ws, ws
from gateway.web.ladder import LadderFiles
from gateway.web.rest import create_app

WS_PATHS = hypercorn_tuning.TEAM_WS_PATHS


class App:
    def __init__(
        self, gw: Gateway, replay: Replaying | None = None, ladder: LadderFiles | None = None
    ) -> None:
        self.gw = gw
        # Quart's ASGI types are narrower than our dicts
        self.rest: Any = create_app(gw, replay, ladder)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "websocket":
            if scope.get("path") in WS_PATHS:
                await ws.handle(self.gw, scope, receive, send)
            elif scope.get("path") == public_ws.PATH:
                await public_ws.handle(self.gw, scope, receive, send)
            else:
                await receive()
                await send({"type": "websocket.close", "code": 1008})  # before accept: 403
            return
        if kind != "http":
            await self.rest(scope, receive, send)  # lifespan
            return
        started = time.perf_counter()
        status = [500]
        fast = fastpath.handles(scope)

        async def timed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif (
                not fast
                and message["type"] == "http.response.body"
                and not message.get("more_body")
            ):
                # The last body message is where hypercorn ends the exchange: it recycles
                # the connection or, when the request body has not all arrived (a 405 or
                # 401 sent before the upload ended), closes it. Quart cancels its request
                # task as soon as that send returns control, and a close cancelled half
                # way leaves the socket open with nobody reading it: the next request on
                # it hangs forever. Shielded, the close always completes. (The fast path
                # reads the whole body first and nothing cancels it.)
                with trio.CancelScope(shield=True):
                    await send(message)
                return
            await send(message)

        try:
            if fast:
                await fastpath.submit_order(self.gw, scope, receive, timed_send)
            else:
                await self.rest(scope, receive, timed_send)
        finally:
            self.gw.metrics.observe_request(time.perf_counter() - started, status[0])
