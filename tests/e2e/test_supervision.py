"""``tradepit serve`` as a process manager: a child killed with SIGKILL is restarted,
the others keep serving, bots resume by ``last_seq``, and nothing acknowledged is lost.

Real processes throughout: the tests kill ``serve``'s own children (found in the
``supervisor`` of ``GET /health``) while bot threads trade over REST and follow their
WebSocket streams as the bot guide says (reconnect with ``last_seq`` on any close).
Every wait polls a condition up to a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from engine import log as logmod
from engine.records import OrderAccepted
from engine.serve.supervisor import ENDED_FILE
from tests.e2e.server import FAST_CONFIG, Server, running_server
from tests.procs import wait_until

#: A bots-only market whose makers may rest many small bids: no limit refuses them.
CONFIG = (
    FAST_CONFIG
    + """
[roles.market_maker]
orders_per_second = 100000
limit_per_option = 1000000
limit_per_underlying = 1000000
total_limit = 1000000000
"""
)
#: The issue's bound: with one gateway, the port answers again within this after a kill.
GATEWAY_BACK_SECONDS = 5.0


def health(url: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{url}/health", timeout=10).json()["data"]
    return data


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def child(url: str, name: str) -> dict[str, Any]:
    """What the supervisor says of one child (``engine``, ``gw-1``, ...)."""
    supervisor = health(url)["supervisor"]
    assert supervisor is not None
    found: dict[str, Any] = supervisor["children"][name]
    return found


def restarted(url: str, name: str, pid: int) -> bool | None:
    """Whether the child that was ``pid`` serves again under a new pid; None while the
    supervisor has not yet seen it die (its record still shows it running)."""
    now = child(url, name)
    if now["pid"] == pid and now["state"] == "running":
        return None
    return bool(now["pid"] != pid and now["state"] == "running")


def serving_again(url: str, name: str, pid: int) -> bool:
    return restarted(url, name, pid) is True


def in_backoff(url: str, seen: list[dict[str, Any]]) -> bool:
    supervisor = health(url)["supervisor"]
    if supervisor["backoff"]:
        seen.append(supervisor)
    return bool(supervisor["backoff"])


def dead(pid: int) -> bool:
    """Gone, or a zombie: its sockets are closed either way."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: dead(pid), 10, f"pid {pid} to die")


@dataclass
class Bot:
    """A team that trades over REST and follows its stream over WebSocket, as the bot
    guide says: on any close, reconnect with ``last_seq`` = the last seq processed."""

    url: str
    port: int
    key: str
    stop: threading.Event = field(default_factory=threading.Event)
    stop_trading: threading.Event = field(default_factory=threading.Event)
    acked: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    stream: list[dict[str, Any]] = field(default_factory=list)
    reconnects: int = 0
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=self._trade, daemon=True),
            threading.Thread(target=self._follow, daemon=True),
        ]
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        """Stop trading; follow the stream until it has every acknowledged order's ack (a
        REST answer may come before its WebSocket message); then stop following."""
        self.stop_trading.set()
        self.threads[0].join(60)
        try:
            wait_until(lambda: set(self.acked) <= self.acks(), 30, "every ack on the stream")
        finally:
            self.stop.set()
            self.threads[1].join(60)

    def acks(self) -> set[str]:
        return {m["data"]["order_id"] for m in list(self.stream) if m["type"] == "new_order_ack"}

    def _trade(self) -> None:
        """Resting bids under fair value, back to back; a refused or lost request is
        retried by the next one, as a bot would."""
        instruments = ("SPX", "SPY")  # underlyings: no volatility regime moves their band
        prices: dict[str, float] = {}
        with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=30) as c:
            n = 0
            while not self.stop_trading.is_set():
                n += 1
                instrument_id = instruments[n % 2]
                try:
                    if instrument_id not in prices:
                        book = c.get(f"/orderbook/{instrument_id}").json()["data"]
                        prices[instrument_id] = round(book["mark"] * 0.9, 2)
                    answer = c.post(
                        "/orders",
                        json={"instrument_id": instrument_id, "side": "buy", "quantity": 1,
                              "price": prices[instrument_id]},
                    ).json()  # fmt: skip
                except (httpx.HTTPError, ValueError) as exc:
                    self.refused.append(type(exc).__name__)  # no answer: nothing promised
                    self.stop_trading.wait(0.05)
                    continue
                if answer["success"]:
                    self.acked.append(answer["order_id"])
                else:
                    self.refused.append(answer["error"]["code"])
                    self.stop_trading.wait(0.05)

    def _follow(self) -> None:
        last = 0
        while not self.stop.is_set():
            query = f"api_key={self.key}&last_seq={last}"  # 0 at first: from the registration
            try:
                with connect(f"ws://127.0.0.1:{self.port}/ws?{query}", open_timeout=5) as ws:
                    while not self.stop.is_set():
                        try:
                            message = json.loads(ws.recv(timeout=0.5))
                        except TimeoutError:
                            continue
                        self.stream.append(message)
                        last = int(message["seq"])
            except (ConnectionClosed, OSError, TimeoutError):
                self.reconnects += 1
                self.stop.wait(0.1)

    def last_seq(self) -> int:
        return int(self.stream[-1]["seq"]) if self.stream else 0

    def check(self, session: Path) -> None:
        """The stream has no gap and no repeat; every acknowledged order is in it and in
        the log."""
        seqs = [int(m["seq"]) for m in self.stream]
        assert seqs == list(range(1, len(seqs) + 1)), "a gap or a repeat in the stream"
        assert set(self.acked) <= self.acks()
        with logmod.open_reader(session / "log") as reader:
            logged = {r.order_id for r in reader.read(1) if isinstance(r, OrderAccepted)}
        assert set(self.acked) <= logged


@pytest.fixture
def bots_of() -> Iterator[list[Bot]]:
    bots: list[Bot] = []
    yield bots
    for bot in bots:  # whatever the test did: no thread outlives it
        bot.stop_trading.set()
        bot.stop.set()
        for t in bot.threads:
            t.join(60)


def start_bots(server: Server, bots: list[Bot], count: int) -> list[Bot]:
    server.wait_continuous()
    for i in range(count):
        team = server.register(f"bot-{i}", "market_maker")
        bots.append(Bot(server.url, server.port, team["api_key"]))
    for bot in bots:
        bot.start()
    wait_until(lambda: all(len(b.acked) >= 20 and b.stream for b in bots), 60, "bots trading")
    return bots


def figures(bots: list[Bot]) -> str:
    """For RELIABILITY.md: what the bots saw, over the whole test."""
    refused = Counter(code for b in bots for code in b.refused)
    return (
        f"{sum(len(b.acked) for b in bots)} orders acknowledged, all in streams and log;"
        f" {sum(len(b.stream) for b in bots)} stream messages, no gap;"
        f" {sum(b.reconnects for b in bots)} reconnects; unanswered or refused: {dict(refused)}"
    )


def serve_log(server: Server) -> str:
    return (server.data_dir.parent / "serve.log").read_text()


def test_a_killed_gateway_is_back_within_5_s_and_bots_resume_by_last_seq(
    tmp_path: Path, bots_of: list[Bot]
) -> None:
    with running_server(tmp_path, "--no-house", "--no-retail", config=CONFIG) as server:
        bots = start_bots(server, bots_of, 2)
        gw = child(server.url, "gw-1")
        engine_pid = child(server.url, "engine")["pid"]
        seen = [b.last_seq() for b in bots]
        acked = [len(b.acked) for b in bots]

        kill(gw["pid"])
        killed = time.monotonic()
        wait_until(lambda: answers(server.url), GATEWAY_BACK_SECONDS, "the port to answer")
        back = time.monotonic() - killed
        print(f"\nport answering again {back:.2f} s after the SIGKILL of the only gateway")

        # the bots carry on where they were: more acknowledged orders, streams past the kill
        wait_until(
            lambda: all(len(b.acked) >= n + 20 for b, n in zip(bots, acked, strict=True)),
            60,
            "orders acknowledged after the restart",
        )
        wait_until(
            lambda: all(b.last_seq() > s + 20 for b, s in zip(bots, seen, strict=True)),
            60,
            "the streams to resume",
        )
        supervisor = health(server.url)["supervisor"]
        assert supervisor["restarts"] == 1
        assert supervisor["last_exit"] == "gw-1: killed by SIGKILL"
        assert supervisor["backoff"] is False
        assert supervisor["children"]["gw-1"]["pid"] != gw["pid"]
        assert supervisor["children"]["gw-1"]["state"] == "running"
        assert supervisor["children"]["engine"]["pid"] == engine_pid  # untouched
        assert server.process.poll() is None  # serve is still running ...
        session = server.session_dir()
        assert not (session / ENDED_FILE).exists()  # ... and has not ended the session
        for bot in bots:
            bot.finish()
            assert bot.reconnects >= 1
            bot.check(session)
        print(figures(bots))
        text = serve_log(server)
        assert f"gw-1 (pid {gw['pid']}) died: killed by SIGKILL; restarting it" in text
        assert "gw-1 restarted (pid" in text
    assert server.process.returncode == 0
    assert (session / ENDED_FILE).read_text().endswith("stopped by the organiser (SIGINT)\n")


def test_a_killed_engine_is_restarted_and_the_gateways_carry_on(
    tmp_path: Path, bots_of: list[Bot]
) -> None:
    with running_server(tmp_path, "--no-house", "--no-retail", config=CONFIG) as server:
        bots = start_bots(server, bots_of, 2)
        engine = child(server.url, "engine")
        gateway_pid = child(server.url, "gw-1")["pid"]
        acked = [len(b.acked) for b in bots]
        reconnects = [b.reconnects for b in bots]

        kill(engine["pid"])
        killed = time.monotonic()
        wait_until(partial(serving_again, server.url, "engine", engine["pid"]), 60, "an engine")
        wait_until(
            lambda: all(len(b.acked) >= n + 20 for b, n in zip(bots, acked, strict=True)),
            60,
            "orders acknowledged after the restart",
        )
        print(f"\nengine restarted, orders acknowledged {time.monotonic() - killed:.2f} s after")
        supervisor = health(server.url)["supervisor"]
        assert supervisor["last_exit"] == "engine: killed by SIGKILL"
        assert supervisor["children"]["engine"]["restarts"] == 1
        assert supervisor["children"]["engine"]["pid"] != engine["pid"]
        assert supervisor["children"]["gw-1"]["pid"] == gateway_pid  # the gateway lived on
        session = server.session_dir()
        for bot, before in zip(bots, reconnects, strict=True):
            bot.finish()
            assert bot.reconnects == before  # its WebSocket never closed
            bot.check(session)
        print(figures(bots))
        text = serve_log(server)
        assert f"engine (pid {engine['pid']}) died: killed by SIGKILL; restarting it" in text


def test_with_three_gateways_on_one_port_the_others_answer_while_one_is_down(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path, "--no-house", "--no-retail", gateways=3) as server:
        gw2 = child(server.url, "gw-2")
        kill(gw2["pid"])
        answered: set[str] = set()
        # fresh connections until gw-2 serves again: every one is answered (the last few
        # may reach the new gw-2, which listens a moment before serve records it running)
        requests = 0
        while not restarted(server.url, "gw-2", gw2["pid"]):
            r = httpx.get(f"{server.url}/health", headers={"Connection": "close"}, timeout=10)
            assert r.status_code == 200
            answered.add(r.headers["X-Gateway-Id"])
            requests += 1
        print(f"\n{requests} requests answered by {sorted(answered)} while gw-2 was down")
        assert answered & {"gw-1", "gw-3"}


def test_a_gateway_that_keeps_dying_goes_into_backoff(tmp_path: Path) -> None:
    with running_server(
        tmp_path, "--no-house", "--no-retail", "--gateway-ports", "distinct", gateways=2
    ) as server:
        first = server.gateway_url(0)  # gw-1 on its own port reports on gw-2
        pid = child(first, "gw-2")["pid"]
        for deaths in range(1, 4):  # each death within 30 s of its start: one streak
            kill(pid)
            if deaths >= 2:  # the second death of the streak waits 1 s, the third 2 s
                seen: list[dict[str, Any]] = []  # the answer that showed it: the pause is short
                wait_until(partial(in_backoff, first, seen), 10, "backoff")
                supervisor = seen[0]
                state = supervisor["children"]["gw-2"]
                assert state["state"] == "backoff"
                assert state["backoff_seconds"] == 2.0 ** (deaths - 2)
                assert state["restarts"] == deaths - 1
                assert supervisor["last_exit"] == "gw-2: killed by SIGKILL"
            wait_until(partial(serving_again, first, "gw-2", pid), 60, "gw-2 to serve again")
            pid = child(first, "gw-2")["pid"]
        supervisor = health(first)["supervisor"]
        assert supervisor["backoff"] is False
        assert supervisor["restarts"] == 3
        assert answers(server.gateway_url(1))  # its own port serves again
        text = serve_log(server)
        assert "died 2 times in a row: restarting in 1 s" in text
        assert "died 3 times in a row: restarting in 2 s" in text
