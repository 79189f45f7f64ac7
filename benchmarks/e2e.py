"""``./scripts/bench e2e``: the whole path, engine and gateway processes on loopback.

1. Orders/s through one gateway (``POST /orders``, keep-alive, 16 connections, load
   from ``wrk`` in its own process) as a ratio to a bare hypercorn-trio ASGI app
   measured in the same run; and to the same bare app on hypercorn with the gateway's
   changes to it (``gateway/web/hypercorn_tuning.py``), the stricter comparison.
2. At half the measured REST load, offered by 16 request loops that each wait the same
   delay after every answer (wrk's Lua ``delay()``; ``_wsload.py`` paced, over order
   sockets): p50/p99 of the order ack, REST's as wrk measures it and the WebSocket's
   as its client does. The WebSocket, quicker to answer, offers a little more with the
   same delay; both achieved rates are reported. Then a maker and a taker crossing one
   order at a time: the counterparty's ``execution_report`` on its WebSocket.
3. WebSocket fan-out capacity: a burst of broadcasts delivered to 100 connected
   clients, against a bare trio-websocket server sending the same frames to the same
   clients in the same run (``_fanout.py``).
5. Order entry over the WebSocket (``/ws?stream=0``, client in its own process as wrk
   is, ``_wsload.py``): orders/s beside REST's (``ws_orders_per_s``); the gateway's CPU
   per order both ways (``/proc``), and so orders per gateway CPU second, WS to REST
   (``ws_to_rest_orders_per_gateway_cpu``); and the ack latency at the same offered
   load as REST's (``ws_ack_p99_ms``, point 2).
4. Resume: the time to receive 100k missed messages with ``last_seq``, against paging
   ``GET /events`` from the same gateway.

``wrk`` comes from Debian's packages; it is installed if missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import websockets

from benchmarks import _fanout
from benchmarks._support import cpu_seconds, record_session, run_from, wait_http
from engine.ports import free_port
from engine.records import RegisterTeam

BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = b'{"success": true, "order_id": "ORD_00000001"}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
"""

CONFIG = """
[schedule]
tick_seconds = 0.5
pre_open_ticks = 1
auction_ticks = 1
[house]
enabled = false
[retail]
enabled = false
[price_limits]
# wrk sends one fixed price all run long while fair value moves: off, so every order is
# accepted and the run measures the same work throughout
enabled = false
[roles.market_maker]
orders_per_second = 1000000
limit_per_option = 100000000
limit_per_underlying = 100000000
total_limit = 1000000000
max_order_size = 1000
[roles.hedge_fund]
orders_per_second = 1000000
limit_per_option = 100000000
limit_per_underlying = 100000000
total_limit = 1000000000
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "{key}"
wrk.body = '{{"instrument_id": "SPX_4200_PUT", "side": "buy", "quantity": 1, "price": {price}}}'
"""


def mark(url: str, instrument_id: str) -> float:
    """The last tick's fair value: orders are priced from it to stay inside the price band."""
    value: float = httpx.get(f"{url}/orderbook/{instrument_id}", timeout=30).json()["data"]["mark"]
    return value


def wrk_script(url: str, key: str) -> str:
    """wrk's Lua for ``POST /orders``: a resting bid under fair value, inside the band."""
    return WRK_SCRIPT.format(key=key, price=round(mark(url, "SPX_4200_PUT") * 0.9, 2))


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    assert found is not None
    return found


#: How long each wrk run lasts (its ``-d``).
WRK_SECONDS = 8


def wrk_report(url: str, script: Path, seconds: int = WRK_SECONDS, *flags: str) -> str:
    """What ``wrk`` prints after ``seconds`` of ``script`` from 16 connections."""
    return subprocess.run(
        [ensure_wrk(), "-t2", "-c16", f"-d{seconds}s", *flags, "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def wrk(url: str, script: Path, seconds: int = WRK_SECONDS) -> float:
    out = wrk_report(url, script, seconds)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match is not None, out
    return float(match.group(1))


UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}  # wrk's latency units, in ms
#: The request loops of the latency run, as wrk's connections (``wrk_report``).
LOOPS = 16


def paced_delay_ms(rate: float) -> int:
    """The delay after each answer that makes ``LOOPS`` loops offer about ``rate`` a
    second (wrk's ``delay()`` takes whole ms); the answers' own time makes it a little
    less."""
    return max(round(LOOPS / rate * 1000), 1)


def wrk_paced(url: str, key: str, delay_ms: int, seconds: int = 8) -> dict[str, float]:
    """``POST /orders`` from ``LOOPS`` connections, each waiting ``delay_ms`` after every
    answer: the rate achieved and wrk's latency percentiles (``--latency``)."""
    with tempfile.TemporaryDirectory(prefix="tradepit-wrk-") as name:
        script = Path(name) / "paced.lua"
        script.write_text(wrk_script(url, key) + f"\nfunction delay() return {delay_ms} end\n")
        out = wrk_report(f"{url}/orders", script, seconds, "--latency")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate is not None, out
    found = {"per_s": float(rate.group(1))}
    for pct_label, key_name in (("50", "p50_ms"), ("99", "p99_ms")):
        match = re.search(rf"^\s+{pct_label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert match is not None, out
        found[key_name] = float(match.group(1)) * UNIT_MS[match.group(2)]
    return found


def ws_paced(url: str, key: str, body: str, delay_ms: int, seconds: int = 8) -> dict[str, float]:
    """The same pacing over order sockets: 8 sockets (a team's most) of 2 loops each."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._wsload", url, key, str(seconds), "8",
         str(LOOPS // 8), body, str(delay_ms)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout  # fmt: skip
    result: dict[str, float] = json.loads(out)
    return result


@contextmanager
def cluster(
    tmp: Path,
    text: str = CONFIG,
    name: str = "session",
    engine_args: Sequence[str] = (),
    gateways: int = 1,
    procs: list[subprocess.Popen[bytes]] | None = None,
    tree: Path | None = None,
    gateway_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """An engine and its gateways over one fresh session, until they are up and trading.

    More than one gateway share the port (``--reuse-port``); ``procs`` receives the
    processes, engine first, for a caller that samples their CPU. ``tree``: run another
    commit's sources (``_support.checkout``) instead of this checkout's; ``gateway_env``:
    variables added to the gateways' environment.
    """
    config = tmp / f"{name}.toml"
    config.write_text(text)
    session = tmp / name
    port = free_port()
    py = [sys.executable, "-m", "engine.cli"]
    env = run_from(tree)
    started = [
        subprocess.Popen(
            [*py, "engine", "--data-dir", str(session), "--config", str(config), *engine_args],
            stderr=subprocess.DEVNULL,
            cwd=tree,
            env=env,
        )
    ]
    shared = ["--reuse-port"] if gateways > 1 else []
    if gateways == 1 and tree is not None and "--gateway-id" not in _gateway_flags(tree):
        ids: list[list[str]] = [[]]  # a baseline from before gateway ids
    else:
        ids = [["--gateway-id", f"gw-{number + 1}"] for number in range(gateways)]
    for flags in ids:
        started.append(
            subprocess.Popen(
                [*py, "gateway", "--data-dir", str(session), "--port", str(port),
                 "--config", str(config), *flags, *shared],
                stderr=subprocess.DEVNULL,
                cwd=tree,
                env={**env, **(gateway_env or {})},
            )
        )  # fmt: skip
    if procs is not None:
        procs.extend(started)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", proc=started[-1])
        while httpx.get(f"{url}/health").json()["data"]["phase"] != "continuous":
            time.sleep(0.1)
        yield url
    finally:
        for proc in reversed(started):
            proc.terminate()
            proc.wait(30)


def _gateway_flags(tree: Path) -> str:
    return (tree / "gateway" / "main.py").read_text()


def register(url: str, name: str, role: str) -> str:
    key: str = httpx.post(
        f"{url}/game/teams/register", json={"team_name": name, "role": role}, timeout=10
    ).json()["data"]["api_key"]
    return key


#: The bare app on hypercorn with the gateway's changes to it (``gateway.web.hypercorn_tuning``):
#: what our gateway's ratio would be against the same server machinery.
TUNED_PREFIX = "from gateway.web import hypercorn_tuning\nhypercorn_tuning.install()\n"


def bare_rate(tmp: Path, script: Path, tuned: bool = False) -> float:
    app = tmp / "bare_app.py"
    app.write_text((TUNED_PREFIX if tuned else "") + BARE_APP)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "--worker-class",
            "trio",
            "-b",
            f"127.0.0.1:{port}",
            "bare_app:app",
        ],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        return wrk(f"http://127.0.0.1:{port}/orders", script)
    finally:
        proc.terminate()
        proc.wait(30)


def ws_rate(url: str, key: str, body: str, seconds: int = 8) -> dict[str, float]:
    """Orders/s over order sockets: 4 sockets of one team, 8 requests under way on each
    (the team's 32 writes in flight, as wrk's 16 connections keep 16)."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._wsload", url, key, str(seconds), "4", "8", body],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


async def latencies(
    url: str, maker: str, taker: str, rate: float, count: int, via: str = "rest"
) -> tuple[list[float], list[float]]:
    """Ack and counterparty-fill latencies of ``count`` crossings, at most ``rate`` a
    second: one at a time, so the answers' own time bounds the rate (``run`` reports the
    rate reached). The taker's order over REST or over an order socket (``via="ws"``)."""
    ws_url = url.replace("http", "ws") + f"/ws?api_key={maker}"
    taker_url = url.replace("http", "ws") + f"/ws?api_key={taker}&stream=0"
    sent: dict[str, float] = {}
    fills: list[float] = []
    acks: list[float] = []
    async with (
        websockets.connect(ws_url, max_queue=None) as ws,
        websockets.connect(taker_url, max_queue=None, compression=None) as orders,
        httpx.AsyncClient(base_url=url, timeout=30) as c,
    ):
        await ws.recv()  # the snapshot

        async def listen() -> None:
            while len(fills) < count:
                msg = json.loads(await ws.recv())
                if msg["type"] == "execution_report":
                    client_id = msg["data"]["client_order_id"]
                    started = sent.get(client_id)
                    if started is not None:
                        fills.append(time.perf_counter() - started)

        listener = asyncio.create_task(listen())
        price = 0.0
        for n in range(count):
            cid = f"m{n}"
            if n % 20 == 0:  # fair value moves: price where the band allows, now and then
                price = round(mark(url, "SPY_440_CALL"), 2)
            await c.post(
                "/orders",
                headers={"X-API-Key": maker},
                json={
                    "instrument_id": "SPY_440_CALL",
                    "side": "sell",
                    "quantity": 1,
                    "price": price,
                    "client_order_id": cid,
                },
            )
            buy = {"instrument_id": "SPY_440_CALL", "side": "buy", "quantity": 1, "price": price}
            started = time.perf_counter()
            sent[cid] = started
            if via == "ws":
                await orders.send(json.dumps({"type": "order", "request_id": cid, "data": buy}))
                answer = json.loads(await orders.recv())
            else:
                answer = (await c.post("/orders", headers={"X-API-Key": taker}, json=buy)).json()
            acks.append(time.perf_counter() - started)
            assert answer["data"]["status"] == "filled", answer
            await asyncio.sleep(max(1.0 / rate - (time.perf_counter() - started), 0))
        await asyncio.wait_for(listener, 30)
    return acks, fills


async def resume(url: str, key: str, count: int) -> float:
    started = time.perf_counter()
    got = 0
    async with websockets.connect(
        url.replace("http", "ws") + f"/ws?api_key={key}&last_seq=0", max_queue=None, max_size=None
    ) as ws:
        while got < count:
            await ws.recv()
            got += 1
    return time.perf_counter() - started


def resume_100k(tmp: Path) -> dict[str, object]:
    """A real 100k: a recorded session whose bot stream holds over 100k messages (every
    tick's broadcasts), served by a gateway alone; resumed by pages and by WebSocket."""
    key = "resume-key"
    bot = RegisterTeam(
        team_name="resume-bot",
        role="hedge_fund",
        api_key_hash=hashlib.sha256(key.encode()).hexdigest(),
    )
    session = tmp / "resume"
    record_session(session / "log", 6_200, [bot])
    port = free_port()
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "gateway",
            "--data-dir",
            str(session),
            "--port",
            str(port),
        ],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", 180)
        head = httpx.get(
            f"{url}/events?after_seq=0&limit=1", headers={"X-API-Key": key}, timeout=30
        ).json()["data"]["last_seq"]
        assert head >= 100_000, head
        paged = resume_by_pages(url, key, 100_000)
        streamed = asyncio.run(resume(url, key, 100_000))
    finally:
        gateway.terminate()
        gateway.wait(30)
    return {
        "resume_100k_pages_seconds": round(paged, 2),
        "resume_100k_websocket_seconds": round(streamed, 2),
        "resume_100k_websocket_to_pages": round(streamed / paged, 2),
    }


def resume_by_pages(url: str, key: str, head: int) -> float:
    """The same resume over ``GET /events``: pages of up to 2000 messages."""
    started = time.perf_counter()
    after = 0
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        while after < head:
            page = client.get(f"/events?after_seq={after}&limit=2000").json()["data"]["messages"]
            after = page[-1]["seq"]
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


def run(quick: bool) -> dict[str, object]:
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="tradepit-e2e-") as name:
        tmp = Path(name)
        procs: list[subprocess.Popen[bytes]] = []
        with cluster(tmp, procs=procs) as url:
            gateway = procs[1].pid
            key = register(url, "wrk-bot", "market_maker")
            script = tmp / "post.lua"
            script.write_text(wrk_script(url, key))
            used = cpu_seconds(gateway)
            ours = wrk(f"{url}/orders", script, WRK_SECONDS)
            rest_cpu_ms = (cpu_seconds(gateway) - used) * 1000 / (ours * WRK_SECONDS)
            bare = bare_rate(tmp, script)
            figures["orders_per_s"] = round(ours)
            figures["bare_hypercorn_trio_per_s"] = round(bare)
            figures["ratio_to_bare"] = round(ours / bare, 2)
            tuned = bare_rate(tmp, script, tuned=True)
            figures["bare_with_our_hypercorn_tuning_per_s"] = round(tuned)
            figures["ratio_to_tuned_bare"] = round(ours / tuned, 2)

            # acks at half the REST load, offered alike over REST and over order sockets
            body = json.dumps(
                {"instrument_id": "SPX_4200_PUT", "side": "buy", "quantity": 1,
                 "price": round(mark(url, "SPX_4200_PUT") * 0.9, 2)}
            )  # fmt: skip
            delay = paced_delay_ms(ours / 2)
            rest_paced = wrk_paced(url, register(url, "paced-rest", "market_maker"), delay)
            ws_at = ws_paced(url, register(url, "paced-ws", "market_maker"), body, delay)
            figures["latency_offered_per_s"] = round(ours / 2)
            figures["latency_delay_ms"] = delay
            figures["ack_rate_per_s"] = round(rest_paced["per_s"])
            figures["ack_p50_ms"] = round(rest_paced["p50_ms"], 2)
            figures["ack_p99_ms"] = round(rest_paced["p99_ms"], 2)
            figures["ws_ack_rate_per_s"] = round(ws_at["per_s"])
            figures["ws_ack_p50_ms"] = round(ws_at["p50_ms"], 2)
            figures["ws_ack_p99_ms"] = round(ws_at["p99_ms"], 2)
            figures["ws_to_rest_ack_p99"] = round(ws_at["p99_ms"] / rest_paced["p99_ms"], 2)

            # a counterparty's fill report: one crossing at a time, as fast as it goes
            rounds = 200 if quick else 1000
            maker, taker = (
                register(url, "lat-maker", "market_maker"),
                register(url, "lat-taker", "hedge_fund"),
            )
            started = time.perf_counter()
            _, fills = asyncio.run(latencies(url, maker, taker, ours / 4, rounds))
            figures["fill_probe_rounds_per_s"] = round(rounds / (time.perf_counter() - started))
            figures["fill_report_p50_ms"] = round(pct(fills, 0.5), 2)
            figures["fill_report_p99_ms"] = round(pct(fills, 0.99), 2)

            used = cpu_seconds(gateway)
            over_ws = ws_rate(url, key, body)
            ws_cpu_ms = (cpu_seconds(gateway) - used) * 1000 / over_ws["answers"]
            figures["ws_orders_per_s"] = round(over_ws["per_s"])
            figures["ws_refused"] = int(over_ws["refused"])
            figures["ws_to_rest_orders"] = round(over_ws["per_s"] / ours, 2)
            # per gateway process: what one order costs the gateway's own core, whatever
            # the engine and the load generators take of the machine's others
            figures["gateway_cpu_ms_per_order"] = round(rest_cpu_ms, 3)
            figures["ws_gateway_cpu_ms_per_order"] = round(ws_cpu_ms, 3)
            figures["ws_to_rest_orders_per_gateway_cpu"] = round(rest_cpu_ms / ws_cpu_ms, 2)
            ws_maker, ws_taker = (
                register(url, "ws-lat-maker", "market_maker"),
                register(url, "ws-lat-taker", "hedge_fund"),
            )
            _, fills = asyncio.run(latencies(url, ws_maker, ws_taker, ours / 4, rounds, via="ws"))
            figures["ws_fill_report_p99_ms"] = round(pct(fills, 0.99), 2)

            # the wrk bot's stream holds an ack per order it sent: resume all of it
            head = httpx.get(
                f"{url}/events?after_seq=0&limit=1", headers={"X-API-Key": key}, timeout=30
            ).json()["data"]["last_seq"]
            seconds = asyncio.run(resume(url, key, head))
            figures["resume_messages"] = head
            figures["resume_seconds"] = round(seconds, 2)
            figures["resume_messages_per_s"] = round(head / seconds)
            figures["resume_100k_seconds_extrapolated"] = round(100_000 * seconds / head, 2)
            paged = resume_by_pages(url, key, head)
            figures["resume_events_pages_messages_per_s"] = round(head / paged)
            figures["resume_events_pages_100k_seconds_extrapolated"] = round(
                100_000 * paged / head, 2
            )
        figures |= resume_100k(tmp)
        figures |= _fanout.run(tmp, 50 if quick else 100)
    for k, v in figures.items():
        print(f"{k:<30}{v:>12}")
    return figures
