"""hypercorn's HTTP/1.1 protocol, writing a response's head together with its body.

hypercorn writes the status line and headers as soon as the app starts its response,
then the body in a second write: two system calls where one does. Under an order load
the gateway spends a sixth of its time in socket calls, so the head is held until the
first body bytes (or the end of the message) and goes out in the same write.
"""

from __future__ import annotations

import h11
import hypercorn.protocol
from hypercorn.events import RawData
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.typing import H11SendableEvent


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
    """Make hypercorn's connections use it (``ProtocolWrapper`` looks the class up here)."""
    hypercorn.protocol.H11Protocol = CoalescingH11Protocol  # type: ignore[attr-defined]
