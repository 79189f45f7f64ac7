"""A 3-node JetStream cluster (replicas 3) loses a node under load: nothing acknowledged is lost.

Real processes: three nats-servers, an engine and a remote gateway connected to all
three, four bots trading and following their streams. The node leading the session's
stream is killed with SIGKILL mid-load; the stream elects another leader, the engine's
publishes are retried to it, and trading goes on. Every order answered ``success: true``
is in the stream read back from a surviving node, and every bot's stream is gapless.
"""

from __future__ import annotations

import threading
from pathlib import Path

from engine.log.nats.client import NatsLog
from engine.log.nats.server import LocalServer, urls
from engine.records import OrderAccepted
from tests.chaos.cluster import Bot, acked, trade
from tests.nats.conftest import TEST_KEY
from tests.nats.session import (
    SESSION,
    gapless,
    head,
    last_seq,
    nats_session,
    record_stream,
    register,
)
from tests.procs import wait_until


def test_killing_one_node_of_three_loses_no_acknowledged_order(
    tmp_path: Path, nats_cluster: list[LocalServer]
) -> None:
    with nats_session(tmp_path, urls(nats_cluster), replicas=3) as s:
        s.start_engine(tmp_path / "engine")
        port = s.start_remote_gateway()
        bots = register(port, 4)
        streams: list[list[dict[str, object]]] = [[] for _ in bots]
        stop_trading, stop_following = threading.Event(), threading.Event()
        url = f"http://127.0.0.1:{port}"
        threads = [
            threading.Thread(target=trade, args=(b, url, stop_trading, i), daemon=True)
            for i, b in enumerate(bots)
        ]
        threads += [
            threading.Thread(
                target=record_stream, args=(b.key, port, streams[i], stop_following), daemon=True
            )
            for i, b in enumerate(bots)
        ]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: acked(bots) >= 200, 180, "200 acknowledged orders")
            leader = _stream_leader(nats_cluster)
            leader.kill()
            at_kill = acked(bots)
            wait_until(lambda: acked(bots) >= at_kill + 200, 180, "trading after the kill")
        finally:
            stop_trading.set()
        survivors = [n for n in nats_cluster if n is not leader]
        try:
            wait_until(lambda: _caught_up(streams, bots, port), 60, "the streams to reach the head")
        finally:
            stop_following.set()
        for t in threads:
            t.join(30)

    reader = NatsLog(urls(survivors), SESSION, key=TEST_KEY)
    try:
        logged = {r.order_id for r in reader.read(1) if isinstance(r, OrderAccepted)}
    finally:
        reader.close()
    for bot, stream in zip(bots, streams, strict=True):
        assert bot.acked
        assert set(bot.acked) <= logged, bot.name
        assert gapless(stream), bot.name
        assert not bot.other, bot.other[:3]


def _stream_leader(nodes: list[LocalServer]) -> LocalServer:
    probe = NatsLog(urls(nodes), SESSION, key=TEST_KEY)
    try:
        info = probe.sync(probe.js.js.stream_info(probe.names.stream))
    finally:
        probe.close()
    assert info.cluster is not None
    assert info.cluster.leader
    (leader,) = [n for n in nodes if n.name == info.cluster.leader]
    return leader


def _caught_up(streams: list[list[dict[str, object]]], bots: list[Bot], port: int) -> bool:
    return all(last_seq(st) >= head(port, b.key) for st, b in zip(streams, bots, strict=True))
