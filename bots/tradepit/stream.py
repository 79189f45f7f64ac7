"""The team's stream with nothing lost: snapshot, then live; resumed by seq on any break.

The rule of docs/protocol.md ("Sequencing and resync"): keep ``last_seq``, drop what is
not newer, and never deliver past a gap. On every (re)connection the missing messages
are first paged from ``GET /events`` (2000 a request, far faster than a WebSocket
resume when far behind), then the socket resumes with ``last_seq``. A close 4010 or a
410 means the history is gone: the stream starts over from a fresh snapshot, which the
bot sees as a ``position_snapshot`` (its state resets from it). Heartbeats are asked
for, so a silent socket is noticed and a lost tail is resumed.

**Replayed messages.** Before each (re)connection the stream learns the head of the
team's stream, the *live point* (the last page's ``last_seq``, or ``Client.head()`` on
a fresh start). A message whose seq is at or before it was already sent when the bot
(re)connected: it is delivered (the state must see it) with ``stream.replayed`` True, so
a bot does not trade on an old tick. From the first message past it, ``replayed`` is
False. A bot started right after registering gets its stream from seq 1: those
messages are replayed too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx
import msgspec
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tradepit import messages as m
from tradepit.applied import Applied
from tradepit.client import Client
from tradepit.errors import (
    ApiError,
    KeyFromAnotherSession,
    SnapshotRequired,
    Unauthorized,
)
from tradepit.state import State

#: Close codes after which resuming cannot help.
FATAL_CLOSES = {1008: "invalid api_key"}
SNAPSHOT_REQUIRED = 4010
#: A connection or a request that did not reach the server
_UNREACHED = (OSError, TimeoutError, httpx.TransportError, websockets.InvalidHandshake)
#: A message as decoded, and its frame as received
Item = tuple[m.Message | m.Other, bytes]


class Stream:
    """The team's messages, each once and in seq order, across any disconnect.

    ``async for msg, raw in stream``: ``msg`` is decoded (``tradepit.messages``), ``raw``
    the frame as received; ``stream.state`` is updated before each is yielded, and
    ``stream.replayed`` says whether it was older than the live point (module docstring).
    """

    def __init__(
        self,
        client: Client,
        *,
        last_seq: int | None = None,
        state: State | None = None,
        silence: float = 5.0,
    ) -> None:
        """``last_seq=None``: start from a snapshot; ``0``: the whole stream from seq 1."""
        self.client = client
        self.last_seq = last_seq
        self.state = state if state is not None else State()
        self.silence = silence
        self.connects = 0
        self.pages = 0
        self.duplicates = 0
        #: the head of the stream when the current connection was made (None: not yet)
        self.live_seq: int | None = None
        #: the message just yielded was already in the stream at the last (re)connection
        self.replayed = False
        self._ws: ClientConnection | None = None
        self._closed = False
        #: how far ``state`` is: a lockstep client's answers wait for it (``tradepit.applied``)
        self.applied = Applied()

    @property
    def connected(self) -> bool:
        """Whether a WebSocket is open right now."""
        return self._ws is not None

    async def drop(self) -> None:
        """Close the current connection (as a network fault would); the stream resumes."""
        if self._ws is not None:
            self._ws.transport.abort()
            self._ws = None

    def close(self) -> None:
        """Stop: the ``async for`` ends at its next message or break."""
        self._closed = True
        self._detach()
        if self._ws is not None:
            self._ws.transport.abort()

    def _deliver(self, msg: m.Message | m.Other) -> bool:
        """Apply a message in order; False for a duplicate. A gap raises."""
        last = self.last_seq
        if isinstance(msg, m.PositionSnapshot) and last is None:
            pass  # a fresh start: the snapshot's seq is where the stream resumes
        elif last is None or msg.seq <= last:
            self.duplicates += 1
            return False
        elif msg.seq != last + 1:
            raise _Gap()
        self.last_seq = msg.seq
        self.replayed = self.live_seq is not None and msg.seq <= self.live_seq
        self.client.known_seq = max(self.client.known_seq, msg.seq)
        self.state.apply(msg)
        self.applied.advance(msg.seq)
        return True

    async def __aiter__(self) -> AsyncIterator[Item]:
        """Each message once, in seq order, with its frame as received."""
        self.applied.consumer = asyncio.current_task()
        self.client.applied = self.applied
        try:
            async with contextlib.aclosing(self._follow()) as items:
                async for item in items:
                    yield item
        finally:
            self._detach()

    def _detach(self) -> None:
        """A stopped stream holds no answer back."""
        if self.client.applied is self.applied:
            self.client.applied = None
        self.applied.release_all()

    async def _follow(self) -> AsyncGenerator[Item, None]:
        delay = 0.05
        while not self._closed:
            try:
                if self.last_seq is not None:
                    async for page_msg in self._catch_up():
                        yield page_msg
                else:  # a fresh start: what the server replays up to here is old
                    self.live_seq = await self.client.head()
                url = f"{self.client.ws_url}?api_key={self.client.api_key}&heartbeat=1"
                if self.last_seq is not None:
                    url += f"&last_seq={self.last_seq}"
                async with connect(url, max_size=None, open_timeout=5) as ws:
                    self._ws = ws
                    self.connects += 1
                    async for item in self._receive(ws):
                        delay = 0.05
                        yield item
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
                if code in FATAL_CLOSES:
                    raise KeyFromAnotherSession(
                        f"stream refused: {FATAL_CLOSES[code]} (a key from another session?"
                        " register anew)"
                    ) from exc
                if code == SNAPSHOT_REQUIRED:
                    self.last_seq = None
            except SnapshotRequired:
                self.last_seq = None
            except Unauthorized as exc:
                raise KeyFromAnotherSession(
                    f"stream refused: {exc} (a key from another session? register anew)"
                ) from exc
            except _UNREACHED as exc:
                self.client.check_reachable(exc)  # a server never reached: say so, soon
            except (_Gap, ApiError):
                pass  # a break of any kind: page what is missing, then resume
            finally:
                self._ws = None
            if self._closed:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _catch_up(self) -> AsyncIterator[Item]:
        """Page ``GET /events`` from ``last_seq`` to the head, which is the live point."""
        assert self.last_seq is not None
        self.pages += 1
        while True:
            page = await self.client.events(self.last_seq)
            self.live_seq = page.last_seq
            for d in page.messages:
                raw = msgspec.json.encode(d)
                msg = m.decode(raw)
                if self._deliver(msg):
                    yield msg, raw
            if not page.messages or self.last_seq >= page.last_seq:
                return

    async def _receive(self, ws: ClientConnection) -> AsyncIterator[Item]:
        while True:
            async with asyncio.timeout(self.silence):
                frame = await ws.recv()
            raw = frame.encode() if isinstance(frame, str) else frame
            kind, seq, data = m.peek(raw)
            if seq is None:  # a heartbeat: the seq of the last message sent to us
                if kind == "heartbeat" and int(data.get("last_seq", 0)) > (self.last_seq or 0):
                    raise _Gap()
                continue
            msg = m.decode(raw)
            if self._deliver(msg):
                yield msg, raw


class _Gap(Exception):
    """A message was lost in transit: resume from ``last_seq``."""


@contextlib.asynccontextmanager
async def open_stream(client: Client, **kw: Any) -> AsyncIterator[Stream]:
    """A ``Stream`` closed on leaving the block."""
    stream = Stream(client, **kw)
    try:
        yield stream
    finally:
        stream.close()
