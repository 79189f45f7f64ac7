"""``tradepit serve`` killed with SIGKILL: nothing of it survives, and the same command
resumes the competition (same keys, every acknowledged order) instead of starting anew.

Real processes throughout: ``serve`` forks the engine and a gateway; the test kills
``serve`` alone, as a crash or an OOM killer would, and looks at what is left.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from engine import log as logmod
from engine.ports import free_port
from engine.records import OrderAccepted
from engine.serve.supervisor import ENDED_FILE
from tests.e2e.server import FAST_CONFIG
from tests.procs import Proc, wait_until


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc: no helper process of ours)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a reaper that may never come."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class Serve:
    """The same ``tradepit serve`` command, started as many times as a test needs."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.data = tmp / "data"
        config = tmp / "config.toml"
        config.write_text(FAST_CONFIG)
        self.args = [
            "serve", "--port", str(self.port), "--data-dir", str(self.data),
            "--config", str(config), "--seed", "7",
        ]  # fmt: skip
        self.runs = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> tuple[Proc, str]:
        """A started ``serve`` and its banner's session line."""
        self.runs += 1
        proc = Proc.tradepit(*self.args, *extra, log=self.tmp / f"serve-{self.runs}.log")
        proc.wait_for("tradepit is running", 120)
        return proc, proc.wait_for(r"^\s+session \(", 10)

    def sessions(self) -> list[Path]:
        return sorted(p for p in self.data.iterdir() if (p / "log").is_dir())


def kill_and_check_nothing_survives(proc: Proc) -> None:
    children = children_of(proc.proc.pid)
    assert len(children) >= 2, children  # the engine and the gateway
    proc.kill()
    wait_until(lambda: not any(alive(c) for c in children), 60, "serve's children to exit")


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    return Serve(tmp_path)


def test_sigkill_of_serve_takes_its_children_and_the_next_serve_starts(serve: Serve) -> None:
    first, line = serve.start()
    try:
        assert "(new)" in line
        assert httpx.get(f"{serve.url}/health", timeout=10).json()["success"]
        kill_and_check_nothing_survives(first)
    finally:
        first.stop()
    second, line = serve.start()  # the port and the log's lock are free again
    try:
        assert "resumed: its last run did not end cleanly" in line
        assert httpx.get(f"{serve.url}/health", timeout=10).json()["success"]
    finally:
        assert second.stop() == 0
    assert len(serve.sessions()) == 1


def passive_bid(url: str, instrument_id: str) -> float:
    """10% under the last tick's fair value: under the house's bid, inside the band."""
    mark: float = httpx.get(f"{url}/orderbook/{instrument_id}", timeout=10).json()["data"]["mark"]
    return round(mark * 0.9, 2)


def _trade(url: str, key: str, stop: threading.Event, acked: list[str]) -> None:
    """Resting bids, back to back, until told to stop or the server goes away."""
    instruments = ("SPX", "SPY")  # underlyings: no regime moves their band
    prices = {i: passive_bid(url, i) for i in instruments}
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            instrument_id = instruments[n % 2]
            body = {
                "instrument_id": instrument_id,
                "side": "buy",
                "quantity": 1,
                "price": prices[instrument_id],
                "client_order_id": f"r-{n}",
            }
            try:
                answer = client.post("/orders", json=body).json()
            except (httpx.HTTPError, ValueError):
                return  # serve was killed: the answer never came, nothing was promised
            if answer["success"]:
                acked.append(answer["order_id"])


@pytest.mark.slow
def test_the_same_command_after_a_sigkill_resumes_the_competition(serve: Serve) -> None:
    first, line = serve.start()
    acked: list[str] = []
    stop = threading.Event()
    try:
        wait_until(
            lambda: httpx.get(f"{serve.url}/health").json()["data"]["phase"] == "continuous",
            60,
            "continuous trading",
        )
        r = httpx.post(
            f"{serve.url}/game/teams/register", json={"team_name": "keeper", "role": "hedge_fund"}
        )
        team = r.json()["data"]
        key = {"X-API-Key": team["api_key"]}
        trader = threading.Thread(target=_trade, args=(serve.url, team["api_key"], stop, acked))
        trader.start()
        wait_until(lambda: len(acked) >= 40, 60, "40 acknowledged orders")
        kill_and_check_nothing_survives(first)  # mid-stream: orders are in flight
        stop.set()
        trader.join(60)
    finally:
        stop.set()
        first.stop()
    promised = list(acked)

    second, line = serve.start()  # the same command
    try:
        assert "resumed: its last run did not end cleanly" in line
        assert str(serve.sessions()[0]) in line
        r = httpx.get(f"{serve.url}/orders", headers=key, timeout=10)
        assert r.status_code == 200, r.text  # the same key works
        assert set(r.json()["data"]) == {"orders"}
        # every acknowledged order is in the resumed stream (resting, filled or not)
        acks: set[str] = set()
        after = 0
        while True:
            page = httpx.get(
                f"{serve.url}/events?after_seq={after}", headers=key, timeout=10
            ).json()["data"]
            acks |= {m["data"]["order_id"] for m in page["messages"]
                     if m["type"] == "new_order_ack"}  # fmt: skip
            if not page["messages"]:
                break
            after = page["messages"][-1]["seq"]
        assert set(promised) <= acks
        r = httpx.post(
            f"{serve.url}/orders",
            headers=key,
            json={
                "instrument_id": "SPX",
                "side": "buy",
                "quantity": 1,
                "price": passive_bid(serve.url, "SPX"),
            },
        )
        assert r.json()["success"], r.text  # and it trades on
    finally:
        assert second.stop() == 0  # a clean stop ...
    session = serve.sessions()[0]
    assert (session / ENDED_FILE).exists()
    with logmod.open_reader(session / "log") as reader:
        logged = {r.order_id for r in reader.read(1) if isinstance(r, OrderAccepted)}
    assert set(promised) <= logged

    third, line = serve.start()  # ... so the same command now starts a new session
    try:
        assert "(new)" in line
        r = httpx.get(f"{serve.url}/orders", headers=key, timeout=10)
        assert r.status_code == 401  # a new competition: the old keys are gone
    finally:
        third.stop()
    assert len(serve.sessions()) == 2


def test_new_starts_a_fresh_session_even_after_a_crash(serve: Serve) -> None:
    first, _ = serve.start()
    try:
        kill_and_check_nothing_survives(first)
    finally:
        first.stop()
    second, line = serve.start("--new")
    try:
        assert "(new)" in line
    finally:
        second.stop()
    assert len(serve.sessions()) == 2
