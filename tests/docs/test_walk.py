"""The walk of one order in docs/architecture.md names every file the order passes through.

A real engine (its shell, wire and file log) and a real gateway run in this process;
a market maker rests an ask and watches its WebSocket, and a hedge fund's crossing buy
is traced with a profile hook from its HTTP request to the maker's execution report.
Every file of ``engine/`` and ``gateway/`` whose functions ran meanwhile must be named
in the walk. (The core compiled by mypyc runs no Python frames, so its files are seen
only when the core runs as plain Python; the walk names them either way.)
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import trio
from trio_websocket import open_websocket_url

from engine import config as configmod
from engine.records import ChangePhase
from engine.shell.sequencer import Engine
from gateway.main import serve_gateway
from gateway.upstream.engine_client import EngineClient, EngineUnavailable
from tests.docs.extract import DOCS, ROOT
from tests.docs.markdown import section, spans

WALK = "## One order, from the HTTP request to the counterparty's socket"
PACKAGES = (str(ROOT / "engine") + "/", str(ROOT / "gateway") + "/")


class Trace:
    """The repository files whose functions are called while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.files: set[str] = set()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if self.on and event == "call":
            name = frame.f_code.co_filename
            if name.startswith(PACKAGES):
                self.files.add(str(Path(name).relative_to(ROOT)))


async def _continuous(client: EngineClient) -> None:
    for _ in range(200):  # the client connects in the background
        try:
            await client.request(ChangePhase(phase="continuous"))
            return
        except EngineUnavailable:
            await trio.sleep(0.05)
    raise AssertionError("the engine did not answer")


async def one_crossing_order(data_dir: Path, trace: Trace) -> dict[str, Any]:
    config = configmod.load(
        None, house={"enabled": False}, retail={"enabled": False}, price_limits={"enabled": False}
    )
    engine = Engine(data_dir, config, 7)
    with trio.fail_after(60):
        return await _trade(engine, data_dir, config, trace)


async def _trade(
    engine: Engine, data_dir: Path, config: configmod.Config, trace: Trace
) -> dict[str, Any]:
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve, "127.0.0.1", 0, False)
        client = EngineClient(data_dir)
        await nursery.start(client.run)
        await _continuous(client)
        port = await nursery.start(serve_gateway, config, data_dir, 0)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            keys = []
            for name, role in (("maker", "market_maker"), ("fund", "hedge_fund")):
                r = await http.post("/game/teams/register", json={"team_name": name, "role": role})
                keys.append(r.json()["data"]["api_key"])
            order = {"instrument_id": "SPX_4400_CALL", "quantity": 1, "price": 50}
            r = await http.post(
                "/orders", headers={"X-API-Key": keys[0]}, json=order | {"side": "sell"}
            )
            assert r.json()["success"], r.text
            async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?api_key={keys[0]}") as ws:
                assert json.loads(await ws.get_message())["type"] == "position_snapshot"
                trace.on = True
                r = await http.post(
                    "/orders", headers={"X-API-Key": keys[1]}, json=order | {"side": "buy"}
                )
                while json.loads(await ws.get_message())["type"] != "execution_report":
                    pass
                trace.on = False
        nursery.cancel_scope.cancel()
    answer: dict[str, Any] = r.json()
    return answer


def test_the_walk_names_every_file_one_order_passes_through(tmp_path: Path) -> None:
    trace = Trace()
    sys.setprofile(trace)
    threading.setprofile(trace)  # the log's append runs in a worker thread
    try:
        answer = trio.run(one_crossing_order, tmp_path, trace)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    assert answer["data"]["status"] == "filled", answer
    # a guard on the trace itself: it saw both processes' parts of the path
    assert {"gateway/web/fastpath.py", "engine/shell/sequencer.py"} <= trace.files
    walk = section((DOCS / "architecture.md").read_text(encoding="utf-8"), WALK)
    named = {span.split(":")[0] for span in spans(walk)}
    missing = sorted(trace.files - named)
    assert not missing, f"the walk in docs/architecture.md does not name {missing}"
