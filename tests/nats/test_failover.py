"""The engine's host dies: a new engine with an empty data dir carries on from the stream.

Real processes: a NATS server, engine A (``--nats``), a remote gateway, four bots
trading through it and following their streams. A is killed with SIGKILL under load;
engine B starts on an empty data dir with the same ``--session``: it rebuilds the
session from JetStream (re-executing every command and comparing every event and
tick digest), then serves. Every order answered ``success: true`` is in B's log,
``tradepit replay verify`` passes on B's data dir, the streams are gapless and a bot
resumes by ``last_seq``. A third engine is refused while B is alive.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from websockets.sync.client import connect

from engine import log as logmod
from engine.log.nats.server import LocalServer
from engine.records import OrderAccepted
from tests.chaos.cluster import acked, trade
from tests.nats.session import gapless, head, last_seq, nats_session, record_stream, register
from tests.procs import ROOT, wait_until


def test_engine_sigkill_then_a_new_engine_rebuilds_from_the_stream(
    tmp_path: Path, nats_server: LocalServer
) -> None:
    with nats_session(tmp_path, nats_server.url) as s:
        engine_a = s.start_engine(tmp_path / "host-a")
        port = s.start_remote_gateway()
        bots = register(port, 4)
        streams: list[list[dict[str, object]]] = [[] for _ in bots]
        stop_trading, stop_following = threading.Event(), threading.Event()
        threads = [
            threading.Thread(target=trade, args=(b, f"http://127.0.0.1:{port}", stop_trading, i))
            for i, b in enumerate(bots)
        ]
        threads += [
            threading.Thread(target=record_stream, args=(b.key, port, streams[i], stop_following))
            for i, b in enumerate(bots)
        ]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: acked(bots) >= 200, 180, "200 acknowledged orders")
            engine_a.kill()
            at_kill = acked(bots)
            wait_until(lambda: any(b.unavailable for b in bots), 60, "SERVICE_UNAVAILABLE")

            host_b = tmp_path / "host-b"  # an empty data directory on "another host"
            s.start_engine(host_b)
            wait_until(lambda: acked(bots) >= at_kill + 200, 180, "orders through engine B")

            # a second engine on the live session is refused, and appends nothing
            third = s.start_engine(tmp_path / "host-c", wait=False)
            third.wait_for("refusing to start a second one", 60)
            assert third.proc.wait(30) == 2
        finally:
            stop_trading.set()
        pairs = list(zip(streams, bots, strict=True))
        try:
            wait_until(
                lambda: all(last_seq(st) >= head(port, b.key) for st, b in pairs),
                60,
                "the streams to reach the head",
            )
        except AssertionError:
            tails = [(last_seq(st), head(port, b.key), st[-1:]) for st, b in pairs]
            raise AssertionError(f"streams behind: {tails}") from None
        stop_following.set()
        for t in threads:
            t.join(30)

    with logmod.open_reader(host_b / "log") as reader:
        logged = {r.order_id for r in reader.read(1) if isinstance(r, OrderAccepted)}
    for bot in bots:
        assert set(bot.acked) <= logged, bot.name
        assert bot.acked, bot.name
    for stream in streams:
        assert gapless(stream)
    verify = subprocess.run(
        [sys.executable, "-m", "engine.cli", "replay", "verify", str(host_b)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith("OK:"), verify.stdout


@pytest.mark.slow
def test_a_bot_resumes_by_last_seq_after_failover(tmp_path: Path, nats_server: LocalServer) -> None:
    with nats_session(tmp_path, nats_server.url) as s:
        engine_a = s.start_engine(tmp_path / "host-a")
        port = s.start_remote_gateway()
        (bot,) = register(port, 1)
        stop = threading.Event()
        seen: list[dict[str, object]] = []
        follower = threading.Thread(target=record_stream, args=(bot.key, port, seen, stop))
        follower.start()
        trader = threading.Thread(target=trade, args=(bot, f"http://127.0.0.1:{port}", stop, 0))
        trader.start()
        try:
            wait_until(lambda: len(bot.acked) >= 50, 60, "50 orders")
            engine_a.kill()
            s.start_engine(tmp_path / "host-b")
            wait_until(lambda: len(bot.acked) >= 100, 60, "50 more orders")
        finally:
            stop.set()
            follower.join(30)
            trader.join(30)
        last = last_seq(seen)
        assert gapless(seen)
        resume_at = last // 2
        with connect(f"ws://127.0.0.1:{port}/ws?api_key={bot.key}&last_seq={resume_at}") as ws:
            first = json.loads(ws.recv(timeout=10))
        assert first["seq"] == resume_at + 1
        assert first == seen[resume_at]
