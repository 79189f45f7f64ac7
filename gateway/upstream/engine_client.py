"""The gateway's side of the engine command protocol (``engine.wire``).

One TCP connection to the engine, found through ``DATA_DIR/engine.addr`` (rewritten by
every engine start, so a restarted engine on a new port is found again) and opened with
the secret of ``DATA_DIR/engine.secret`` (``engine.access``; renewed by every start). Start
``run`` in a nursery; ``request`` then sends a command and waits for the engine's
durable answer. While the engine is down, ``request`` raises ``EngineUnavailable``
at once instead of queueing: the caller answers ``SERVICE_UNAVAILABLE`` with a retry hint.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import cast

import trio

from engine.access import read_secret
from engine.records import AnyRecord, Command
from engine.wire import (
    Done,
    FrameError,
    FrameReader,
    Hello,
    Refused,
    Reply,
    Request,
    pack_frame,
    read_address,
)

log = logging.getLogger("tradepit.gateway")


class EngineUnavailable(Exception):
    def __init__(
        self, message: str, code: str = "SERVICE_UNAVAILABLE", retry_after: float | None = 1.0
    ):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class Ticket:
    """One request on its way to the engine: set ``done`` once answered (or lost)."""

    __slots__ = ("answer", "done", "id")

    def __init__(self, request_id: int) -> None:
        self.id = request_id
        self.done = trio.Event()
        self.answer: Reply | Refused | None = None


class EngineClient:
    def __init__(self, data_dir: Path, *, reconnect_delay: float = 0.2) -> None:
        self.data_dir = Path(data_dir)
        self.reconnect_delay = reconnect_delay
        self._stream: trio.abc.Stream | None = None
        self._outbox: list[bytes] = []  # request frames not yet written
        self._wrote = trio.Event()  # set: the outbox has something to write
        self._pending: dict[int, Ticket] = {}
        self._ids = itertools.count(1)
        self.connected = trio.Event()

    @property
    def is_connected(self) -> bool:
        return self._stream is not None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep one connection to the engine, reconnecting forever; read replies."""
        task_status.started()
        while True:
            address = read_address(self.data_dir)
            secret = read_secret(self.data_dir)
            if address is None or secret is None:
                await trio.sleep(self.reconnect_delay)
                continue
            try:
                stream = await trio.open_tcp_stream(*address)
            except OSError:
                await trio.sleep(self.reconnect_delay)
                continue
            self._stream = stream
            self._outbox = [pack_frame(Hello(secret))]
            self._wrote.set()
            self.connected.set()
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._write, stream)
                    await self._read(stream)
                    nursery.cancel_scope.cancel()
            except* (trio.BrokenResourceError, trio.ClosedResourceError, OSError, FrameError):
                pass
            finally:
                self._stream = None
                self.connected = trio.Event()
                self._fail_pending()
                with trio.CancelScope(shield=True):
                    await stream.aclose()
            await trio.sleep(self.reconnect_delay)

    async def _write(self, stream: trio.abc.Stream) -> None:
        """Write the outbox: every request made while the last write was under way goes
        in the next one. Under load that is one write (and one engine read) for many
        requests instead of one each, which halved the engine's CPU per order."""
        while True:
            await self._wrote.wait()
            self._wrote = trio.Event()
            batch, self._outbox = b"".join(self._outbox), []
            await stream.send_all(batch)

    async def _read(self, stream: trio.abc.Stream) -> None:
        reader = FrameReader()
        while data := await stream.receive_some(65536):
            for message in reader.feed(data):
                if isinstance(message, Refused) and message.id == 0:
                    # an engine restarted since we read its secret; the next attempt rereads it
                    log.warning("the engine refused this connection: %s", message.message)
                if isinstance(message, Reply | Refused):
                    slot = self._pending.pop(message.id, None)
                    if slot is not None:
                        slot.answer = message
                        slot.done.set()

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for slot in pending.values():
            slot.done.set()  # answer stays None: connection lost

    async def request(self, command: Command, *, timeout: float = 10.0) -> Reply:
        return await self._call(lambda i: Request(i, cast(AnyRecord, command)), timeout)

    async def done(self, team_id: str, tick: int, *, timeout: float = 10.0) -> int:
        """A bot under test is done with ``tick``: the session's current tick."""
        return (await self._call(lambda i: Done(i, team_id, tick), timeout)).seq

    def submit(self, command: Command) -> Ticket:
        """Queue ``command`` now, without waiting: ``settle`` then ``answer`` it. Requests
        queued one after another reach the engine in that order, in one write when
        queued before the writer runs (``gateway.web.ws_orders`` sends a socket's batch
        of orders so)."""
        return self._queue(lambda i: Request(i, cast(AnyRecord, command)))

    def submit_done(self, team_id: str, tick: int) -> Ticket:
        """``done``, queued as ``submit`` queues a command; the answer's seq is the tick."""
        return self._queue(lambda i: Done(i, team_id, tick))

    async def settle(self, tickets: list[Ticket], timeout: float = 10.0) -> None:
        """Until every ticket is answered, or ``timeout`` passed: one deadline for all of
        them, where a request each costs one (a cancel scope and its registration)."""
        with trio.move_on_after(timeout if math.isfinite(timeout) else math.inf):
            for ticket in tickets:
                if not ticket.done.is_set():  # a set event's wait still yields
                    await ticket.done.wait()
        pending = self._pending
        for ticket in tickets:
            pending.pop(ticket.id, None)

    def _queue(self, frame: Callable[[int], Request | Done]) -> Ticket:
        if self._stream is None:
            raise EngineUnavailable("the engine is not reachable; retry shortly")
        ticket = Ticket(next(self._ids))
        self._pending[ticket.id] = ticket
        self._outbox.append(pack_frame(frame(ticket.id)))
        self._wrote.set()
        return ticket

    async def _call(self, frame: Callable[[int], Request | Done], timeout: float) -> Reply:
        # ``settle`` for one, inline: REST's every write comes through here
        ticket = self._queue(frame)
        with trio.move_on_after(timeout if math.isfinite(timeout) else math.inf):
            await ticket.done.wait()
        self._pending.pop(ticket.id, None)
        return answer(ticket)


def answer(ticket: Ticket) -> Reply:
    """The engine's answer to a settled ticket; ``EngineUnavailable`` if there is none."""
    reply = ticket.answer
    if reply is None:
        raise EngineUnavailable(
            "the engine did not answer; the command may or may not have been sequenced: "
            "check GET /orders or GET /events",
        )
    if isinstance(reply, Refused):
        raise EngineUnavailable(reply.message, reply.code, reply.retry_after)
    return reply
