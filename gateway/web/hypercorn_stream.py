"""Fewer trio task switches per HTTP request in hypercorn; installed by ``hypercorn_tuning``.

Each yield to trio's scheduler costs some 30 Python calls (the task's reschedule, its
outcome, the run loop's bookkeeping), and under an order load about 13 task steps
went into every ``POST /orders`` (``./scripts/bench calls``). Three of them bought
nothing:

* a request body that arrives whole was handed to the app as two messages (the bytes
  with ``more_body``, then an empty end), a channel send and a receive each;
* every message to the app went through ``MemorySendChannel.send``, which yields even
  when the channel has room (it nearly always has: the app reads as it goes);
* so did every message the app read with a message already waiting.

``CoalescingHTTPStream`` holds the last body chunk back until the next event says
whether more follows, so a whole body is one message, and puts without a yield while
the channel has room (a full channel still waits, as before). ``receive_now`` is the
app side of the same. The ASGI messages are unchanged; only their count and timing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.protocol.events import Body, EndBody, Event, Request
from hypercorn.protocol.http_stream import HTTPStream

Put = Callable[[Any], Awaitable[None]]


def put_without_yield(put: Put) -> Put:
    """``put`` (hypercorn's ``MemorySendChannel.send``), not yielding when there is room.

    Anything else (an app put hypercorn made another way) is returned as it is."""
    channel = getattr(put, "__self__", None)
    send_nowait = getattr(channel, "send_nowait", None)
    if not isinstance(channel, trio.MemorySendChannel) or send_nowait is None:
        return put

    async def put_now(message: Any) -> None:
        try:
            send_nowait(message)
        except trio.WouldBlock:  # the app is behind: wait for room, as hypercorn does
            await put(message)

    return put_now


async def receive_now(receive: Callable[[], Awaitable[Any]]) -> Any:
    """The app's next message: at once when one is waiting, else as ``receive`` would."""
    channel = getattr(receive, "__self__", None)
    if isinstance(channel, trio.MemoryReceiveChannel):
        try:
            return channel.receive_nowait()
        except trio.WouldBlock:
            pass
    return await receive()


class CoalescingHTTPStream(HTTPStream):
    _held: bytes | None = None

    async def handle(self, event: Event) -> None:
        if self.closed:
            return
        if isinstance(event, Body):
            # one chunk held back at most: the next event says whether it is the last
            held, self._held = self._held, bytes(event.data)
            if held is not None:
                await self.app_put({"type": "http.request", "body": held, "more_body": True})
        elif isinstance(event, EndBody):
            body, self._held = self._held or b"", None
            await self.app_put({"type": "http.request", "body": body, "more_body": False})
        else:
            await super().handle(event)
            if isinstance(event, Request) and not self.closed:
                self.app_put = put_without_yield(self.app_put)
