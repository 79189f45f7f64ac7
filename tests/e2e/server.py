"""Run the real ``tradepit serve`` (engine + gateway processes) on loopback for a test."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

# re-exported: tests replace ``server.free_port`` to hand serve a taken port first
from engine.ports import free_port as free_port
from tests.procs import wait_until

ROOT = Path(__file__).resolve().parents[2]

#: Fast ticks so a test sees a few within seconds; otherwise the embedded defaults.
FAST_CONFIG = """
[schedule]
tick_seconds = 0.25
pre_open_ticks = 1
auction_ticks = 1
"""


def inside_band(fair: float, fraction: float) -> float:
    """``fraction`` of a fair value, to the cent: 0.9 is a bid that rests (the house
    quotes closer) and stays inside a 20% band while fair value drifts a little."""
    return max(round(fair * fraction, 2), 0.01)


class Server:
    def __init__(
        self, data_dir: Path, port: int, process: subprocess.Popen[bytes], gateways: int
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.process = process
        self.gateways = gateways

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def gateway_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.port + index}"

    def session_dir(self) -> Path:
        sessions = [p for p in self.data_dir.iterdir() if (p / "log").is_dir()]
        assert len(sessions) == 1, sessions
        return sessions[0]

    def wait_continuous(self, timeout: float = 60) -> None:
        """Until the session trades continuously (the ticks of FAST_CONFIG get it there fast)."""
        wait_until(
            lambda: httpx.get(f"{self.url}/health").json()["data"]["phase"] == "continuous",
            timeout,
            "continuous trading",
        )

    def fair(self, instrument_id: str) -> float:
        """The model's fair value at the last tick: the price band is centred on it."""
        data = httpx.get(f"{self.url}/orderbook/{instrument_id}", timeout=30).json()["data"]
        fair: float = data["mark"]  # this tick's fair value; "fair" is the book's last change
        return fair

    def away_from_fair(self, share: float, instrument_id: str = "SPY") -> float:
        """Fair value moved by ``share``: a price of its own, inside the price band (an
        underlying's band hardly moves, where an option's jumps with a new regime)."""
        return round(self.fair(instrument_id) * (1 + share), 2)

    def place(
        self, key: str, side: str, price: float, quantity: int, instrument_id: str = "SPY"
    ) -> dict[str, Any]:
        """A limit order over REST that must be accepted; its answer's data."""
        r = httpx.post(
            f"{self.url}/orders",
            headers={"X-API-Key": key},
            json={"instrument_id": instrument_id, "side": side, "quantity": quantity,
                  "price": price},
            timeout=30,
        )  # fmt: skip
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

    def register(self, name: str, role: str) -> dict[str, str]:
        r = httpx.post(f"{self.url}/game/teams/register", json={"team_name": name, "role": role})
        assert r.status_code == 200, r.text
        data: dict[str, str] = r.json()["data"]
        return data


def _pump(
    process: subprocess.Popen[bytes], log: Path, ready: threading.Event, banner: threading.Event
) -> None:
    """Copy the server's output to a file; flag the banner that says every gateway listens."""
    assert process.stdout is not None
    with log.open("wb") as out:
        for line in process.stdout:
            out.write(line)
            out.flush()
            if line.startswith(b"tradepit is running"):
                banner.set()
                ready.set()
    ready.set()  # exited: the waiter checks the banner (poll() may not see the exit yet)


#: Starts on a fresh port when the chosen one was taken before ``serve`` bound it.
PORT_ATTEMPTS = 5


@contextlib.contextmanager
def running_server(
    tmp: Path, *extra: str, config: str = FAST_CONFIG, gateways: int = 1, port: int | None = None
) -> Iterator[Server]:
    cfg = tmp / "config.toml"
    cfg.write_text(config)
    data = tmp / "data"
    fresh = not data.exists()
    for attempt in range(1, PORT_ATTEMPTS + 1):
        chosen = port or free_port()
        cmd = [
            sys.executable,
            "-m",
            "engine.cli",
            "serve",
            "--port",
            str(chosen),
            "--data-dir",
            str(data),
            "--config",
            str(cfg),
            "--seed",
            "7",
            "--gateways",
            str(gateways),
            *extra,
        ]
        process = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
        ready, banner = threading.Event(), threading.Event()
        log = tmp / "serve.log"
        pump = threading.Thread(target=_pump, args=(process, log, ready, banner), daemon=True)
        pump.start()
        # the banner, not poll(): a serve that printed "is in use" and closed its output
        # may not have exited yet when the pump sees the end of it
        started = ready.wait(90) and banner.is_set() and process.poll() is None
        if not started:
            _stop(process, pump)
            text = log.read_text()
            # free_port only knew the port was free when it looked: serve's own check
            # says "is in use", a gateway's bind that lost the race "already in use"
            taken = " is in use " in text or "address already in use" in text.lower()
            if taken and port is None and attempt < PORT_ATTEMPTS:
                if fresh:  # what the failed start wrote is not the test's session
                    shutil.rmtree(data, ignore_errors=True)
                continue
            raise RuntimeError(f"tradepit serve did not start:\n{text}")
        try:
            yield Server(data, chosen, process, gateways)
        finally:
            _stop(process, pump)
        return


def _stop(process: subprocess.Popen[bytes], pump: threading.Thread) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    pump.join(5)
    if process.stdout is not None:
        process.stdout.close()
