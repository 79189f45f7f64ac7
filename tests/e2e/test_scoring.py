"""Scoring over real processes: the live leaderboard, replay inspect and results agree.

The gateway runs the scorer as part of its projection; ``tradepit replay inspect``
and ``tradepit results`` fold the same log in their own processes. At one seq the
three must give the same standings (SPEC "Same answer everywhere").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.e2e.server import ROOT, running_server
from tests.procs import wait_until

CONFIG = """
[schedule]
tick_seconds = 0.25
pre_open_ticks = 1
auction_ticks = 1
continuous_ticks = 60  # 15 s: room for a slow start on a loaded machine
"""


def tradepit(*args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=ROOT, capture_output=True, check=True
    )
    return json.loads(out.stdout)


def test_live_leaderboard_equals_inspect_and_results(tmp_path: Path) -> None:
    with running_server(tmp_path, "--no-house", "--no-retail", config=CONFIG) as server:
        url = server.url
        mm = server.register("score-maker", "market_maker")
        hf = server.register("score-fund", "hedge_fund")
        mm_key, hf_key = mm["api_key"], hf["api_key"]
        with connect(f"ws://127.0.0.1:{server.port}/ws?api_key={mm_key}") as ws:
            server.wait_continuous()
            # quotes on the underlyings: an option's fair value (and so its price band)
            # can jump with a new regime between reading it and quoting, an index's not
            for iid in ("SPX", "SPY"):
                fair = server.fair(iid)  # the model's fair value at the last tick
                r = httpx.post(
                    f"{url}/quotes",
                    headers={"X-API-Key": mm_key},
                    json={"instrument_id": iid, "bid_price": round(fair * 0.99, 2), "bid_size": 5,
                          "ask_price": round(fair * 1.01, 2), "ask_size": 5},
                )  # fmt: skip
                assert r.status_code == 200, r.text
            r = httpx.post(
                f"{url}/orders",
                headers={"X-API-Key": hf_key},
                json={"instrument_id": "SPX", "side": "buy", "quantity": 2},
            )
            assert r.status_code == 200, r.text
            # a score_update on the team's own stream, once per tick
            seen: list[dict[str, Any]] = []
            while len(seen) < 2:
                message = json.loads(ws.recv(timeout=30))
                if message["type"] == "score_update":
                    seen.append(message)
            assert seen[0]["data"]["team_id"] == mm["team_id"]
            assert seen[1]["data"]["tick_number"] == seen[0]["data"]["tick_number"] + 1

        live = httpx.get(f"{url}/leaderboard").json()["data"]  # public by default
        inspected = tradepit("replay", "inspect", str(server.session_dir()), "--at-seq",
                             str(live["seq"]), "--json")["leaderboard"]  # fmt: skip
        assert inspected == live

        own = httpx.get(f"{url}/teams/{hf['team_id']}/score", headers={"X-API-Key": hf_key})
        assert own.status_code == 200
        score = own.json()["data"]
        assert score["team_id"] == hf["team_id"]
        assert score["series"]["tick"]
        other = httpx.get(f"{url}/teams/{mm['team_id']}/score", headers={"X-API-Key": hf_key})
        assert other.status_code == 403
        assert other.json()["error"]["code"] == "FORBIDDEN"

        wait_until(
            lambda: httpx.get(f"{url}/health").json()["data"]["phase"] == "closed",
            60,
            "the session's close",
        )
        final = httpx.get(f"{url}/leaderboard").json()["data"]
        session = server.session_dir()
    results = tradepit("results", str(session), "--format", "json")
    assert results["seq"] == final["seq"]
    assert {k: v for k, v in results.items() if k != "seed"} == final
    assert results["seed"] == 7
    rows = final["roles"]["hedge_fund"]
    assert [r["team_name"] for r in rows] == ["score-fund"]
