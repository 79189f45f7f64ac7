"""Re-record the sessions in ``replays/`` with real processes and two small bots.

    ./scripts/record-replays            # all of them
    ./scripts/record-replays quiet-demo

Run it when behaviour changes on purpose (the suite's replay verification then fails
on the old recordings), and say why in the commit that updates ``replays/``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from engine.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
REPLAYS = ROOT / "replays"

COMMON = """
[schedule]
tick_seconds = 0.1
pre_open_ticks = 2
auction_ticks = 1
continuous_ticks = 20
[instruments]
underlyings = [
  {id = "SPX", start_price = 440000, strikes = [4300, 4400, 4500]},
  {id = "SPY", start_price = 44000, strikes = [430, 440, 450]},
]
"""
SCENARIOS: dict[str, tuple[str, int]] = {
    "quiet-demo": (COMMON + "[news]\nmean_gap_sim_seconds = 1e12\n", 11),
    "news-signals": (COMMON + "[news]\nmean_gap_sim_seconds = 120.0\n", 12),
    "crash-restart": (COMMON + "[news]\nmean_gap_sim_seconds = 1800.0\n", 13),
}


def tradepit(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *args], cwd=ROOT)


def wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def health(url: str) -> dict[str, object]:
    try:
        data: dict[str, object] = httpx.get(f"{url}/health", timeout=2).json()["data"]
    except (httpx.HTTPError, ValueError):
        return {}
    return data


def bots(url: str) -> tuple[str, str, str]:
    keys = []
    for name, role in (
        ("maker-bot", "market_maker"),
        ("fund-bot", "hedge_fund"),
        ("arb-bot", "arbitrage"),
    ):
        r = httpx.post(
            f"{url}/game/teams/register", json={"team_name": name, "role": role}, timeout=10
        )
        keys.append(r.json()["data"]["api_key"])
    return keys[0], keys[1], keys[2]


def trade_once(url: str, maker: str, fund: str, n: int) -> None:
    """One round: the maker quotes, the fund takes, a little at a time.

    The quote sits around the model's fair value: the price band refuses one far from it.
    """
    with httpx.Client(base_url=url, timeout=10) as c:
        fair = float(c.get("/orderbook/SPY_440_CALL").json()["data"]["fair"])
        bid = round(fair - 0.05 + (n % 5) * 0.01, 2)
        c.post(
            "/quotes",
            headers={"X-API-Key": maker},
            json={
                "instrument_id": "SPY_440_CALL",
                "bid_price": bid,
                "bid_size": 2,
                "ask_price": round(bid + 0.05, 2),
                "ask_size": 2,
            },
        )
        c.post(
            "/orders",
            headers={"X-API-Key": fund},
            json={
                "instrument_id": "SPY_440_CALL",
                "side": "buy" if n % 2 else "sell",
                "quantity": 1,
                "order_type": "market",
            },
        )


def run_session(url: str, maker: str, fund: str, until_tick: int | None = None) -> None:
    n = 0
    while health(url).get("phase") != "closed" or int(str(health(url).get("tick_number", 0))) == 0:
        tick = int(str(health(url).get("tick_number", 0)))
        if until_tick is not None and tick >= until_tick:
            return
        if health(url).get("phase") == "continuous":
            trade_once(url, maker, fund, n)
            n += 1
        time.sleep(0.1)


def record(name: str) -> None:
    config_text, seed = SCENARIOS[name]
    target = REPLAYS / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    config = target / "config.toml"
    config.write_text(config_text.lstrip())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    engine = tradepit(
        "engine", "--data-dir", str(target), "--config", str(config), "--seed", str(seed)
    )
    gateway = tradepit(
        "gateway", "--data-dir", str(target), "--port", str(port), "--config", str(config)
    )
    try:
        wait(lambda: bool(health(url)), "the gateway")
        maker, fund, _arb = bots(url)
        if name == "crash-restart":
            run_session(url, maker, fund, until_tick=10)
            engine.send_signal(signal.SIGKILL)  # a crash, mid-session
            engine.wait()
            engine = tradepit("engine", "--data-dir", str(target), "--config", str(config))
        run_session(url, maker, fund)
    finally:
        for proc in (gateway, engine):
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    for leftover in ("engine.addr", "engine.secret", "log/LOCK"):
        (target / leftover).unlink(missing_ok=True)
    print(f"recorded {target}")


def main() -> int:
    for name in sys.argv[1:] or list(SCENARIOS):
        record(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
