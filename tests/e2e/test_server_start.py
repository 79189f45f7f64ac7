"""The suite's ``running_server``: a port taken between choosing it and ``serve``."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from engine.records import PHASES
from tests.e2e import server


def test_a_taken_port_is_refused_and_another_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        choices = [taken]
        fresh_port = server.free_port
        monkeypatch.setattr(server, "free_port", lambda: choices.pop() if choices else fresh_port())
        with server.running_server(tmp_path) as s:
            assert s.port != taken
            health = httpx.get(f"{s.url}/health").json()["data"]
            assert health["phase"] in PHASES
            team = s.register("after-retry", "retail")
            assert team["team_id"]
        assert not choices  # the taken port was offered, and refused
