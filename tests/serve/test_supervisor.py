"""The ``Supervisor`` of ``serve`` over stand-in children (real processes, tests/serve/
standin.py): the closing bell's hook (an engine exit with ``lifeline.DAY_ENDED_EXIT``)
ends the day without a restart; any other exit is a crash and ends nothing.

Real processes and the real clock: every wait polls a condition under a deadline.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import trio

from engine import lifeline
from engine.serve import keeper, status
from engine.serve.supervisor import ENDED_FILE, Supervisor
from tests.e2e.server import free_port

STANDIN = str(Path(__file__).with_name("standin.py"))


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.02)


class Run:
    def __init__(self, tmp: Path, plan: str) -> None:
        self.session = tmp / "session"
        self.session.mkdir()
        port = free_port()
        args = argparse.Namespace(host="127.0.0.1", port=port, gateways=1, gateway_ports="shared")
        self.supervisor = Supervisor(
            self.session,
            [sys.executable, STANDIN, "engine", str(self.session), plan],
            [[sys.executable, STANDIN, "gateway", str(port)]],
            args,
            "new",
        )
        self.code: int | None = None

    async def serve(self) -> None:
        self.code = await self.supervisor.run()

    def starts(self) -> int:
        return int((self.session / "standin-starts").read_text())

    def ended(self) -> str | None:
        path = self.session / ENDED_FILE
        return path.read_text() if path.exists() else None

    def gateway_alive(self) -> bool:
        proc = self.supervisor.gateways[0].proc
        return proc is not None and proc.poll() is None


@pytest.fixture
async def run_with(tmp_path: Path) -> AsyncIterator[Callable[[str], Run]]:
    """``start(plan)``: a Supervisor running in the background; stopped at the end."""
    runs: list[Run] = []
    async with trio.open_nursery() as nursery:

        def start(plan: str) -> Run:
            run = Run(tmp_path, plan)
            runs.append(run)
            nursery.start_soon(run.serve)
            return run

        yield start
        for run in runs:
            run.supervisor.ask_to_stop("test")


async def test_the_closing_bell_exit_ends_the_day_without_a_restart(
    run_with: Callable[[str], Run],
) -> None:
    run = run_with(f"1.0:{lifeline.DAY_ENDED_EXIT}")
    await until(lambda: run.ended() is not None)
    assert "closing bell" in str(run.ended())
    engine = run.supervisor.engine
    assert (engine.state, engine.restarts, engine.last_exit) == (keeper.ENDED, 0, "exit status 10")
    assert run.starts() == 1  # not restarted
    assert run.gateway_alive()  # the standings are still served
    doc = status.read(run.session)
    assert doc is not None
    assert doc["day_ended"] is True
    assert doc["children"]["engine"]["state"] == "ended"
    assert not (run.session / "engine.addr").exists()  # gateways stop knocking
    run.supervisor.ask_to_stop("SIGTERM")
    await until(lambda: run.code is not None)
    assert run.code == 0
    assert "closing bell" in str(run.ended())  # the stop keeps the bell's reason


async def test_an_engine_resumed_after_the_bell_still_lets_the_gateways_serve(
    run_with: Callable[[str], Run],
) -> None:
    run = run_with(f"-1:{lifeline.DAY_ENDED_EXIT}")  # exits before it listens
    await until(lambda: run.ended() is not None and run.gateway_alive())
    assert run.supervisor.engine.state == keeper.ENDED
    assert run.starts() == 1


async def test_any_other_engine_exit_is_a_crash_restarted_and_ends_nothing(
    run_with: Callable[[str], Run],
) -> None:
    run = run_with("0.5:1,1000:0")
    engine = run.supervisor.engine
    await until(lambda: engine.restarts == 1 and engine.state == keeper.RUNNING)
    assert engine.last_exit == "exit status 1"
    assert run.starts() == 2
    assert run.ended() is None
    run.supervisor.ask_to_stop("SIGINT")
    await until(lambda: run.code is not None)
    assert run.code == 0
    assert str(run.ended()).endswith("stopped by the organiser (SIGINT)\n")
    doc = status.read(run.session)
    assert doc is not None
    assert {c["state"] for c in doc["children"].values()} == {"stopped"}
    assert doc["restarts"] == 1
    assert doc["last_exit"] == "engine: exit status 1"
