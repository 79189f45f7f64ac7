"""A cluster of real processes for fault tests: one engine, one gateway, bot threads."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from engine import log as logmod
from engine.ports import free_port
from engine.records import OrderAccepted
from tests.procs import Proc, wait_until

CHAOS_CONFIG = """
[schedule]
tick_seconds = 0.5
pre_open_ticks = 1
auction_ticks = 1
[house]
enabled = false
[retail]
enabled = false
[roles.market_maker]
orders_per_second = 100000
limit_per_option = 1000000
limit_per_underlying = 1000000
total_limit = 1000000000
"""
INSTRUMENTS = ["SPX_4400_CALL", "SPX_4400_PUT", "SPY_440_CALL", "SPY_440_PUT"]


@dataclass
class Cluster:
    tmp: Path
    session: Path
    config: Path
    port: int
    engine: Proc | None = None
    gateway: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def phase(self) -> str:
        phase: str = httpx.get(f"{self.url}/health", timeout=10).json()["data"]["phase"]
        return phase

    def start_engine(self) -> None:
        self.engine = Proc.tradepit(
            "engine",
            "--data-dir",
            str(self.session),
            "--config",
            str(self.config),
            "--seed",
            "3",
            log=self.tmp / "engine.log",
        )
        self.engine.wait_for("engine listening on")

    def start_gateway(self) -> None:
        self.gateway = Proc.tradepit(
            "gateway",
            "--data-dir",
            str(self.session),
            "--port",
            str(self.port),
            "--config",
            str(self.config),
            log=self.tmp / "gateway.log",
        )
        self.gateway.wait_for("gateway on")

    def register(self, count: int) -> list[Bot]:
        self.wait_continuous()
        bots = []
        for i in range(count):
            r = httpx.post(
                f"{self.url}/game/teams/register",
                json={"team_name": f"chaos-{i}", "role": "market_maker"},
                timeout=10,
            )
            assert r.status_code == 200, r.text
            bots.append(Bot(f"chaos-{i}", r.json()["data"]["api_key"]))
        return bots

    def wait_continuous(self) -> None:
        wait_until(lambda: self.phase() == "continuous", 60, "continuous trading")

    def logged_orders(self) -> set[str]:
        with logmod.open_reader(self.session / "log") as reader:
            return {r.order_id for r in reader.read(1) if isinstance(r, OrderAccepted)}


@contextlib.contextmanager
def running_cluster(tmp: Path, session: Path) -> Iterator[Cluster]:
    config = tmp / "chaos.toml"
    config.write_text(CHAOS_CONFIG)
    c = Cluster(tmp, session, config, free_port())
    try:
        c.start_engine()
        c.start_gateway()
        yield c
    except BaseException:
        # shown with the failure: whether a process died or only dropped a connection
        for name, proc in (("engine", c.engine), ("gateway", c.gateway)):
            if proc is not None:
                print(f"--- {name}, exit {proc.proc.poll()}:", *proc.lines[-40:], sep="\n")
        raise
    finally:
        for proc in (c.gateway, c.engine):
            if proc is not None:
                proc.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, tmp_path / "session") as c:
        yield c


@dataclass
class Bot:
    name: str
    key: str
    acked: list[str] = field(default_factory=list)
    unavailable: list[dict[str, object]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    stream: list[dict[str, object]] = field(default_factory=list)


def fair(url: str, instrument_id: str) -> float:
    """The model's fair value at the last tick, which the price band is centred on."""
    book = httpx.get(f"{url}/orderbook/{instrument_id}", timeout=30).json()["data"]
    mark: float = book["mark"]
    return mark


def trade(bot: Bot, url: str, stop: threading.Event, index: int) -> None:
    """Post orders back to back until told to stop; keep every answer."""
    ids = itertools.count()
    # a few cents around fair value at the start: inside the price band for the test
    base = {iid: round(fair(url, iid), 2) for iid in INSTRUMENTS}
    with httpx.Client(base_url=url, headers={"X-API-Key": bot.key}, timeout=30) as client:
        while not stop.is_set():
            n = next(ids)
            side = "buy" if (n + index) % 2 else "sell"
            instrument_id = INSTRUMENTS[n % len(INSTRUMENTS)]
            body = {
                "instrument_id": instrument_id,
                "side": side,
                "quantity": 1,
                "price": round(base[instrument_id] + (n % 7) * 0.01, 2),
                "client_order_id": f"{bot.name}-{n}",
            }
            try:
                r = client.post("/orders", json=body)
            except httpx.HTTPError as exc:
                bot.other.append(repr(exc))
                continue
            answer = r.json()
            if answer["success"]:
                bot.acked.append(answer["order_id"])
            elif answer["error"]["details"].get("reason") == "out_of_band":
                # fair value jumped (a volatility regime change): price again, as a bot would
                base[instrument_id] = round(fair(url, instrument_id), 2)
            elif answer["error"]["code"] == "SERVICE_UNAVAILABLE":
                bot.unavailable.append(
                    {"status": r.status_code, **answer["error"], **dict(r.headers)}
                )
            else:
                bot.other.append(json.dumps(answer["error"]))


def follow(bot: Bot, port: int, stop: threading.Event) -> None:
    try:
        with connect(f"ws://127.0.0.1:{port}/ws?api_key={bot.key}&last_seq=0") as ws:
            while not stop.is_set():
                try:
                    raw = ws.recv(timeout=0.5)
                except TimeoutError:
                    continue
                bot.stream.append(json.loads(raw))
    except ConnectionClosed as exc:
        bot.other.append(f"stream closed: {exc}")


def acked(bots: list[Bot]) -> int:
    return sum(len(b.acked) for b in bots)
