"""Starting local nats-servers: a port taken between choosing and binding it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.log.errors import LogError
from engine.log.nats import server
from engine.ports import free_port
from tests.nats.conftest import _binary_or_fail


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port somebody else listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_server_whose_port_was_taken_starts_again_on_fresh_ports(
    tmp_path: Path, taken: int
) -> None:
    _binary_or_fail()
    made: list[server.LocalServer] = []

    def make() -> list[server.LocalServer]:
        port = taken if not made else free_port()  # the first choice was unlucky
        made.append(server.LocalServer("n1", tmp_path / "nats", http_port=port))
        return made[-1:]

    (one,) = server._started(make, server.READY_SECONDS)
    try:
        assert len(made) == 2
        assert made[0].lost_its_port()
        assert one.http_port != taken
        assert one.healthy()
    finally:
        one.stop()
    log = (tmp_path / "nats" / "server.log").read_text()
    assert log.count("address already in use") == 1


def test_a_server_that_fails_for_another_reason_is_not_started_again(tmp_path: Path) -> None:
    _binary_or_fail()
    made: list[server.LocalServer] = []

    def make() -> list[server.LocalServer]:
        made.append(server.LocalServer("n1", tmp_path / "nats"))
        made[-1].config = lambda: "this is not a nats config {\n"  # type: ignore[method-assign]
        return made[-1:]

    with pytest.raises(LogError, match="exited"):
        server._started(make, server.READY_SECONDS)
    assert len(made) == 1
