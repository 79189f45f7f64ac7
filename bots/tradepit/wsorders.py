"""Order entry over a WebSocket of its own (``/ws?stream=0``): requests by id, answers by id.

The server answers each request once, with the REST envelope's fields, in whatever order
the requests are applied; this socket matches them by ``request_id``. It carries no
stream (``stream=0``): acks and fills still come on the bot's ``Stream``. A request whose
socket closes before its answer is ambiguous (it may have reached the engine), like an
HTTP request that timed out: ``SocketLost``, which the client resolves as it does a
lost HTTP answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class SocketLost(Exception):
    """The socket closed with this request unanswered: it may or may not have been placed."""


class _Response(msgspec.Struct):
    request_id: str | None = None
    type: str | None = None


class OrderSocket:
    """Order entry over its own WebSocket (``/ws?stream=0``), answers matched by id."""

    def __init__(self, ws_url: str, api_key: str, *, open_timeout: float = 10.0) -> None:
        self.url = f"{ws_url}?api_key={api_key}&stream=0"
        self.open_timeout = open_timeout
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._ids = itertools.count(1)
        self._opening = asyncio.Lock()

    async def _open(self) -> ClientConnection:
        async with self._opening:
            if self._ws is None:
                self._ws = await connect(self.url, open_timeout=self.open_timeout)
                self._reader = asyncio.create_task(self._read(self._ws))
            return self._ws

    async def request(self, kind: str, data: dict[str, Any]) -> bytes:
        """Send one request; its answer's raw frame. ``OSError`` and the like when the
        socket cannot be opened (nothing was sent), ``SocketLost`` when it was."""
        ws = await self._open()
        request_id = f"w{next(self._ids)}"
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            message = {"type": kind, "request_id": request_id, "data": data}
            try:
                await ws.send(msgspec.json.encode(message).decode())
            except ConnectionClosed as exc:
                raise SocketLost(str(exc)) from exc
            return await answer
        finally:
            self._pending.pop(request_id, None)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                raw = frame if isinstance(frame, bytes) else frame.encode()
                try:
                    head = msgspec.json.decode(raw, type=_Response)
                except msgspec.DecodeError:
                    continue
                waiter = self._pending.get(head.request_id or "")
                if head.type == "response" and waiter is not None and not waiter.done():
                    waiter.set_result(raw)
        except ConnectionClosed:
            pass
        finally:
            if self._ws is ws:
                self._ws = None
            for waiter in self._pending.values():
                if not waiter.done():
                    waiter.set_exception(SocketLost("the order socket closed"))

    async def aclose(self) -> None:
        """Close the socket; requests under way end with ``SocketLost``."""
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
