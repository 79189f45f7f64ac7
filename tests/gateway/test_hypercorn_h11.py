"""The gateway's hypercorn protocol writes a response's head with its body."""

from __future__ import annotations

import h11
import hypercorn.protocol
import pytest
from hypercorn.events import RawData

from gateway import hypercorn_h11
from gateway.hypercorn_h11 import CoalescingH11Protocol


def protocol_after_a_request() -> tuple[CoalescingH11Protocol, list[bytes]]:
    written: list[bytes] = []

    async def send(event: object) -> None:
        assert isinstance(event, RawData)
        written.append(event.data)

    protocol = CoalescingH11Protocol.__new__(CoalescingH11Protocol)
    protocol.connection = h11.Connection(h11.SERVER)
    protocol.send = send
    protocol.connection.receive_data(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(protocol.connection.next_event(), h11.Request)
    assert isinstance(protocol.connection.next_event(), h11.EndOfMessage)
    return protocol, written


@pytest.mark.trio
async def test_head_and_body_go_out_in_one_write() -> None:
    protocol, written = protocol_after_a_request()
    await protocol._send_h11_event(
        h11.Response(status_code=200, headers=[(b"content-length", b"2")])
    )
    assert written == []  # held
    await protocol._send_h11_event(h11.Data(data=b"ok"))
    assert len(written) == 1
    assert written[0].startswith(b"HTTP/1.1 200 ")
    assert written[0].endswith(b"\r\n\r\nok")
    await protocol._send_h11_event(h11.EndOfMessage())
    assert written[1:] == [b""]  # nothing left to write with a content-length


@pytest.mark.trio
async def test_a_head_without_body_goes_out_at_the_end_of_the_message() -> None:
    protocol, written = protocol_after_a_request()
    await protocol._send_h11_event(
        h11.Response(status_code=204, headers=[(b"content-length", b"0")])
    )
    await protocol._send_h11_event(h11.EndOfMessage())
    assert len(written) == 1
    assert written[0].startswith(b"HTTP/1.1 204 ")


def test_installed_where_hypercorn_looks_it_up() -> None:
    hypercorn_h11.install()
    assert hypercorn.protocol.H11Protocol is CoalescingH11Protocol  # type: ignore[attr-defined]
