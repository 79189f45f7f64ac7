"""``tradepit serve --nats``: a local JetStream for a demo; a remote gateway follows it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from engine.ports import free_port
from tests.e2e.server import running_server
from tests.procs import Proc, wait_until


def test_serve_with_a_local_jetstream_feeds_a_remote_gateway(tmp_path: Path) -> None:
    with running_server(tmp_path, "--nats") as server:
        pattern = re.compile(r"NATS JetStream:\s+(nats://\S+) \(stream TRADEPIT_(\S+)\)")
        command = re.compile(r"remote gateway:\s+tradepit gateway (.*) --port 8100")
        log = tmp_path / "serve.log"
        wait_until(lambda: pattern.search(log.read_text()) is not None, 30, "the NATS banner")
        found = pattern.search(log.read_text())
        assert found
        url, session = found.groups()
        printed = command.search(log.read_text())
        assert printed
        # the local JetStream is secured: the banner names the files a gateway needs
        arguments = printed.group(1).split()
        assert arguments[:4] == ["--nats", url, "--session", session]
        assert arguments[4] == "--nats-key"
        assert arguments[6] == "--nats-creds"
        secret_files = [Path(arguments[5]), Path(arguments[7])]
        for path in secret_files:
            assert path.stat().st_mode & 0o077 == 0, path  # the owner's alone
            assert path.read_text().strip() not in log.read_text()
        port = free_port()
        remote = Proc.tradepit(
            "gateway", *arguments, "--port", str(port), log=tmp_path / "remote.log",
        )  # fmt: skip
        try:
            remote.wait_for("gateway on", 90)
            r = httpx.post(
                f"http://127.0.0.1:{port}/game/teams/register",
                json={"team_name": "demo", "role": "retail"},
                timeout=20,
            )
            assert r.status_code == 200, r.text
            key = r.json()["data"]["api_key"]
            # the local gateway (on the data dir) sees the team registered remotely
            wait_until(
                lambda: (
                    httpx.get(
                        f"{server.url}/positions", headers={"X-API-Key": key}, timeout=10
                    ).status_code
                    == 200
                ),
                30,
                "the local gateway to know the team",
            )
        finally:
            remote.stop()
