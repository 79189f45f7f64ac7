"""schemathesis against the server's own OpenAPI document: no generated request, valid
or not, may get a 5xx. Fixed seed, bounded examples; the real HTTP stack."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("schema"), "--no-retail") as srv:
        srv.wait_continuous()
        yield srv


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(server: Server, tmp_path: Path) -> None:
    team = server.register("schema-bot", "hedge_fund")
    # installed with the dev extras, beside the interpreter running the tests
    tool = Path(sys.executable).with_name("schemathesis")
    assert tool.exists(), "schemathesis is a dev dependency"
    done = subprocess.run(
        [
            tool,
            "run",
            f"{server.url}/openapi.json",
            "-H",
            f"X-API-Key: {team['api_key']}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--seed",
            "20261124",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout
    assert "Network Error" not in done.stdout
