"""Our changes to how hypercorn's trio worker runs a connection; ``install()`` applies them.

Each is a subclass of a hypercorn class, put where hypercorn looks the class up, and
each is tested in ``tests/gateway/test_hypercorn_tuning.py``:

* ``ContainedTCPServer``: one connection's failure must not stop the server. The trio
  worker runs every connection in the server's nursery, so an error escaping one
  (hypercorn #225: an upgrade request followed by trailing bytes makes h11 raise)
  cancels them all; the upstream fix (#228) was reverted.
* ``KeepAliveTimer``: the keep-alive timeout as one task per connection whose deadline
  moves, instead of a task cancelled and started again around every request (7% of
  the gateway's time under an order load, py-spy).
* ``CoalescingH11Protocol``: a response's head goes out in the same write as its body;
  hypercorn writes the head as soon as the app starts the response, a second system
  call per answer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import h11
import hypercorn.protocol
import hypercorn.trio.run
import trio
from hypercorn.events import RawData
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.typing import H11SendableEvent

log = logging.getLogger("tradepit.gateway")


class KeepAliveTimer:
    """Stands in for hypercorn's ``TrioSingleTask`` as ``TCPServer.idle_task``.

    hypercorn calls ``restart`` when the connection becomes idle and ``stop`` when a
    request arrives. Same behaviour as its own: an idle connection is closed after
    ``keep_alive_timeout``, or at once when the server shuts down; a busy one finishes
    its request first.
    """

    def __init__(self, server: TCPServer) -> None:
        self.server = server
        self.scope: trio.CancelScope | None = None
        self.busy = False
        self.idle = trio.Event()

    async def restart(self, task_group: Any, action: Callable[..., Any]) -> None:
        self.busy = False
        self.idle.set()
        deadline = trio.current_time() + self.server.config.keep_alive_timeout
        if self.scope is None:
            self.scope = trio.CancelScope(deadline=deadline)
            task_group.spawn(self._run, self.scope)
        else:
            self.scope.deadline = deadline

    async def stop(self) -> None:
        self.busy = True
        self.idle = trio.Event()
        if self.scope is not None:
            self.scope.deadline = math.inf

    async def _run(self, scope: trio.CancelScope) -> None:
        with scope:
            await self.server.context.terminated.wait()
            while self.busy:  # shutting down mid-request: close once it is answered
                await self.idle.wait()
        with trio.CancelScope(shield=True):
            await self.server._initiate_server_close()


class ContainedTCPServer(TCPServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_task = KeepAliveTimer(self)  # type: ignore[assignment]

    async def run(self) -> None:
        try:
            await super().run()
        except Exception:
            log.warning("a connection failed inside hypercorn; closed it", exc_info=True)


class CoalescingH11Protocol(H11Protocol):
    _held = b""

    async def _send_h11_event(self, event: H11SendableEvent) -> None:
        try:
            data = self.connection.send(event)
        except h11.LocalProtocolError:
            if self.connection.their_state != h11.ERROR:
                raise
            return
        if isinstance(event, h11.Response):
            self._held += data or b""
            return
        if self._held:
            data, self._held = self._held + (data or b""), b""
        await self.send(RawData(data=data or b""))


def install() -> None:
    """Make hypercorn's trio worker use these (it looks both classes up at run time)."""
    hypercorn.trio.run.TCPServer = ContainedTCPServer  # type: ignore[attr-defined]
    hypercorn.protocol.H11Protocol = CoalescingH11Protocol  # type: ignore[attr-defined]
