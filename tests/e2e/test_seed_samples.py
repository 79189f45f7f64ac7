"""Every code sample of the bot guide runs unchanged against the real server.

The samples are extracted from ``docs/use-websockets.md``, the guide the project started
from (only its closing links were changed, to point at this project's docs). Each runs
in its own Python process with ``websockets`` and ``aiohttp``; only the placeholder
``YOUR_API_KEY`` is replaced by a real key. Samples that only define a class get a small
driver appended that calls it. A sample that runs forever is stopped once its output
shows what it should.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ROOT, Server, running_server

GUIDE = ROOT / "docs" / "use-websockets.md"


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def samples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", guide(), flags=re.S)


def test_the_guide_has_its_seven_samples() -> None:
    assert len(samples()) == 7


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # the samples say localhost:8000, and they run unchanged
    with running_server(tmp_path_factory.mktemp("seed"), port=8000) as srv:
        yield srv


class Run:
    """A sample running in a child process; its stdout lines collected as they come."""

    def __init__(self, code: str, tmp: Path) -> None:
        script = tmp / "sample.py"
        script.write_text(code)
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(script)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append("<exit>")
            self.changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines:
                    if regex.search(line):
                        return line
                if "<exit>" in self.lines:
                    raise AssertionError(f"sample exited before {pattern!r}:\n" + self.output())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {pattern!r} within {timeout}s:\n" + self.output())
                self.changed.wait(left)

    def finish(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def run_sample(index: int, key: str, tmp: Path, driver: str = "") -> Run:
    code = samples()[index].replace("YOUR_API_KEY", key)
    return Run(code + "\n" + driver, tmp)


def take_liquidity(
    server: Server, key: str, instrument: str = "SPX_4400_CALL"
) -> dict[str, object]:
    """A market buy against the house quote, so the team gets a fill."""
    r = httpx.post(
        f"{server.url}/orders",
        headers={"X-API-Key": key},
        json={"instrument_id": instrument, "side": "buy", "quantity": 2, "order_type": "market"},
    )
    body: dict[str, object] = r.json()
    assert r.status_code == 200, body
    return body


def test_basic_connection(server: Server, tmp_path: Path) -> None:
    team = server.register("seed-basic", "hedge_fund")
    run = run_sample(0, team["api_key"], tmp_path)
    try:
        run.wait_for(r"^Connected to exchange WebSocket$")
        run.wait_for(r"^Positions initialized: \{\}$")
        run.wait_for(r"^Tick ([3-9]|\d\d+) started$")  # continuous trading from tick 3
        take_liquidity(server, team["api_key"])
        line = run.wait_for(r"^Order ORD_\S+ executed: \d+ @ \$\d+(\.\d+)?$")
        assert "executed" in line
    finally:
        run.stop()


HYBRID_DRIVER = """
class _Hybrid(HybridBot):
    # the sample has no hook for "connected"; the snapshot says the stream is live
    async def process_ws_message(self, msg):
        if msg["type"] == "position_snapshot":
            self.live.set()
        await super().process_ws_message(msg)

async def _drive():
    bot = _Hybrid("{key}")
    bot.live = asyncio.Event()
    listener = asyncio.create_task(bot.websocket_handler())
    await bot.live.wait()
    async with aiohttp.ClientSession() as session:
        await bot.submit_orders(session)
    await listener

asyncio.run(_drive())
"""


def test_hybrid_bot_submits_over_rest_and_hears_the_fill(server: Server, tmp_path: Path) -> None:
    team = server.register("seed-hybrid", "hedge_fund")
    key = team["api_key"]
    run = run_sample(1, key, tmp_path, HYBRID_DRIVER.replace("{key}", key))
    try:
        line = run.wait_for(r"^Order submitted: ")
        assert "'success': True" in line, line
        # 128.50 crosses the house ask on SPX_4500_CALL: the bot hears its fill
        run.wait_for(r"^Order filled! Checking for hedging opportunities\.\.\.$")
    finally:
        run.stop()


RESILIENT_DRIVER = """
asyncio.run(ResilientBot("{key}").run())
"""


def test_resilient_bot_connects(server: Server, tmp_path: Path) -> None:
    team = server.register("seed-resilient", "arbitrage")
    run = run_sample(
        2, team["api_key"], tmp_path, RESILIENT_DRIVER.replace("{key}", team["api_key"])
    )
    try:
        run.wait_for(r"^Connected at \d{4}-\d\d-\d\d")
        assert not any(line.startswith("Connection failed") for line in run.lines)
    finally:
        run.stop()


SEQUENCE_DRIVER = """
import asyncio, json, websockets

async def _drive():
    tracker = SequenceTracker()
    async with websockets.connect("ws://localhost:{port}/ws?api_key={key}") as ws:
        for _ in range(40):
            await tracker.process_message(json.loads(await ws.recv()))
    print("RESULT", json.dumps({"last": tracker.last_seq, "missed": tracker.missed_messages}))

asyncio.run(_drive())
"""


def test_sequence_tracker_sees_no_gap(server: Server, tmp_path: Path) -> None:
    team = server.register("seed-sequence", "market_maker")
    driver = SEQUENCE_DRIVER.replace("{key}", team["api_key"]).replace("{port}", str(server.port))
    run = run_sample(3, team["api_key"], tmp_path, driver)
    try:
        assert run.finish() == 0, run.output()
        result = json.loads(run.wait_for(r"^RESULT ").split(" ", 1)[1])
        assert result == {"last": 40, "missed": []}
        assert not any("WARNING" in line for line in run.lines)
    finally:
        run.stop()


ROLE_DRIVER = """
import asyncio, json, websockets

async def _drive():
    bot = RoleAwareBot("{key}", "{role}")
    async with websockets.connect("ws://localhost:{port}/ws?api_key={key}") as ws:
        async for message in ws:
            msg = json.loads(message)
            if msg["type"] == "signal":
                await bot.process_signal(msg["data"])
                return

asyncio.run(_drive())
"""


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("hedge_fund", r"^Vol forecast: \w+ \(confidence: [\d.]+\)$"),
        ("arbitrage", r"^Tracking error signal: -?[\d.]+$"),
    ],
)
def test_role_aware_bot_gets_its_signal(
    server: Server, tmp_path: Path, role: str, expected: str
) -> None:
    team = server.register(f"seed-role-{role}", role)
    driver = (
        ROLE_DRIVER.replace("{key}", team["api_key"])
        .replace("{role}", role)
        .replace("{port}", str(server.port))
    )
    run = run_sample(4, team["api_key"], tmp_path, driver)
    try:
        run.wait_for(expected, timeout=120)
    finally:
        run.stop()


OPTIMIZED_DRIVER = """
import asyncio, json, websockets

class _Bot:
    def __init__(self):
        self.batches = []
        self.others = 0
    async def process_executions(self, executions):
        self.batches.append(len(executions))
    async def process_message(self, msg):
        self.others += 1
        if self.others >= 20:
            raise SystemExit(0)

async def _drive():
    bot = _Bot()
    async with websockets.connect("ws://localhost:{port}/ws?api_key={key}") as ws:
        try:
            await optimized_handler(bot, ws)
        except SystemExit:
            pass
    print("RESULT", bot.others)

asyncio.run(_drive())
"""


def test_optimized_handler_processes_the_stream(server: Server, tmp_path: Path) -> None:
    team = server.register("seed-optimized", "retail")
    driver = OPTIMIZED_DRIVER.replace("{key}", team["api_key"]).replace("{port}", str(server.port))
    run = run_sample(5, team["api_key"], tmp_path, driver)
    try:
        assert run.finish() == 0, run.output()
        assert run.wait_for(r"^RESULT ") == "RESULT 20"
        assert not any(line.startswith(("Invalid JSON", "Error processing")) for line in run.lines)
    finally:
        run.stop()


def test_connection_test_script(server: Server, tmp_path: Path) -> None:
    team = server.register("seed-testscript", "market_maker")
    run = run_sample(6, team["api_key"], tmp_path)
    try:
        assert run.finish() == 0, run.output()
        assert run.lines[:3] == [
            "✓ Connected successfully",
            "✓ Received position snapshot",
            "  Positions: {}",
        ]
        received = [line for line in run.lines if line.startswith("✓ Received ") and "seq:" in line]
        assert len(received) == 5
        seqs = [int(re.search(r"seq: (\d+)", line).group(1)) for line in received]  # type: ignore[union-attr]
        assert seqs == list(range(seqs[0], seqs[0] + 5))
        assert run.lines[-2] == "✓ All tests passed!"
    finally:
        run.stop()
