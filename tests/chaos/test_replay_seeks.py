"""64 replay seeks at once against a real ``tradepit replay serve`` (issue 38, item 8;
issue 22 asks for it with real processes).

A seek (``GET /replay/state?seq=N``) folds the log up to N in a worker thread that holds
the GIL while it folds: 64 at once ran 40 folds side by side and ``/health`` took 2.1 s.
Now at most ``SEEKS`` (1) folds and ``SEEKS_WAITING`` (8) wait; the rest are answered
503 ``SERVICE_UNAVAILABLE`` with ``retry_after`` at once (``gateway/web/dashboard.py``).

The session is recorded in process with the real core and market (135k records), and
served with its index off, so the first seek folds from seq 1 and leaves the snapshot
a fold leaves every 100,000 records (``inspect.SNAPSHOT_EVERY``). The server is stopped
(SIGSTOP) while the 64 requests are sent, so all of them are in its sockets when it runs
again: what it answers is its own doing, not the order the client's threads ran in (the
first fold, 135k records, costs some hundred times what reading the 63 other requests
does, so the places are full before it ends; on a loaded machine one more may come in
after it, which is why the counts below are not exact).
Then, by counts and orders, not clocks: every request got its answer, a 200 or a 503
with the documented error; the server's ``/metrics`` say the most seeks it held at once
was exactly 1 + 8 (the places were filled and never exceeded) and count the 503s the
client saw; exactly one seek folded from seq 1 and every other served one from the
snapshot it left, so none folded beside it; and ``/health`` answered between the
served seeks.

After: 9 or 10 x 200 (snapshots 0, then 100,000 for each of the others), 55 or 54 x
503, at most 9 at once, ~100-300 ``/health`` answers meanwhile, 2-7 s. Before the fix
(34d8524^'s unbounded ``trio.to_thread.run_sync``, put back in place of ``Seeks.run``):
64 x 200, no 503, 13 seeks folded from seq 1 side by side, 25 ``/health`` answers in
18 s.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from benchmarks._support import record_session
from engine.ports import free_port
from gateway.replay.inspect import SNAPSHOT_EVERY
from gateway.web.dashboard import SEEKS, SEEKS_WAITING
from tests.procs import Proc

TICKS = 1_200  # 134,700 records: past one seek snapshot, the first seek folds them all
SEEKERS = 64


def test_64_seeks_at_once_hold_at_most_9_places_one_folding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no snapshot yet
    head = record_session(tmp_path / "session" / "log", TICKS)
    assert head > SNAPSHOT_EVERY + SEEKERS
    port = free_port()
    serve = Proc.tradepit(
        "replay", "serve", str(tmp_path / "session"), "--port", str(port), "--paused",
        "--snapshot-every", "0", log=tmp_path / "serve.log",
    )  # fmt: skip
    answered: list[tuple[str, int, dict[str, Any]]] = []  # (what, status, body) as they came

    def answer(what: str, connection: http.client.HTTPConnection) -> None:
        response = connection.getresponse()
        answered.append((what, response.status, json.loads(response.read())))
        connection.close()

    try:
        serve.wait_for("serving on")
        seeks = [http.client.HTTPConnection("127.0.0.1", port, timeout=300) for _ in range(SEEKERS)]
        os.kill(serve.proc.pid, signal.SIGSTOP)
        try:  # the kernel takes the connections and the requests meanwhile
            for i, connection in enumerate(seeks):
                connection.request("GET", f"/replay/state?seq={head - i}")
        finally:
            os.kill(serve.proc.pid, signal.SIGCONT)
        readers = [threading.Thread(target=answer, args=("seek", c), daemon=True) for c in seeks]
        for reader in readers:
            reader.start()
        while any(reader.is_alive() for reader in readers):
            health = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            health.request("GET", "/health")
            answer("health", health)
        for reader in readers:
            reader.join()
        metrics = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        metrics.request("GET", "/metrics")
        figures = dict(
            line.rsplit(" ", 1)
            for line in metrics.getresponse().read().decode().splitlines()
            if line.startswith("tradepit_replay_seeks")
        )
        metrics.close()
    finally:
        serve.stop()

    seeks_answered = [(status, body) for what, status, body in answered if what == "seek"]
    statuses = [status for status, _ in seeks_answered]
    served = [body["data"] for status, body in seeks_answered if status == 200]
    healths = len(answered) - len(seeks_answered)
    print(f"{len(seeks_answered)} seeks: {statuses.count(200)} x 200, "
          f"{statuses.count(503)} x 503; the served ones folded from snapshots "
          f"{[d['snapshot_seq'] for d in served]}; /health answered {healths} times "
          "meanwhile")  # fmt: skip
    assert len(seeks_answered) == SEEKERS  # every seek ended
    assert set(statuses) == {200, 503}
    for status, body in seeks_answered:
        if status == 503:
            assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert body["error"]["details"]["retry_after"] > 0
    # the places were filled and never exceeded, and the refusals are the server's own
    assert float(figures["tradepit_replay_seeks_most"]) == SEEKS + SEEKS_WAITING
    assert float(figures["tradepit_replay_seeks_refused_total"]) == statuses.count(503)
    # one fold at a time: the first from seq 1, each of the others from the snapshot the
    # first left on its way (a fold beside it would have found none)
    assert sorted(d["snapshot_seq"] for d in served) == [0] + [SNAPSHOT_EVERY] * (len(served) - 1)
    assert all(d["head_seq"] == head for d in served)
    # /health answered while the served seeks were folding
    order = [(what, status) for what, status, _ in answered]
    first = order.index(("seek", 200))
    last = len(order) - 1 - order[::-1].index(("seek", 200))
    assert ("health", 200) in order[first:last]
    assert all(status == 200 for what, status in order if what == "health")
