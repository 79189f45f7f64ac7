"""Storage trouble on a real, size-limited filesystem: a full disk, then a read-only one.

The data dir is a small tmpfs mounted for the test. When the log cannot be written the
engine refuses orders with SERVICE_UNAVAILABLE (nothing half-done: an order is either
acknowledged and durable, or refused); reads go on; when space returns, so do orders.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.replay.verify import verify
from tests.chaos.cluster import Bot, Cluster, fair, running_cluster
from tests.procs import Proc, wait_until

PRICES: dict[str, float] = {}  # cluster url -> a price inside the band


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def order(cluster: Cluster, bot: Bot, n: int) -> httpx.Response:
    # priced from the fair value read once, while the gateway can still read the log
    base = PRICES.setdefault(cluster.url, round(fair(cluster.url, "SPY"), 2))
    return httpx.post(
        f"{cluster.url}/orders",
        headers={"X-API-Key": bot.key},
        timeout=30,
        json={
            "instrument_id": "SPY",  # the underlying: no volatility regime moves its band
            "side": "buy" if n % 2 else "sell",
            "quantity": 1,
            "price": round(base + (n % 5) * 0.01, 2),
        },
    )


def fill_up(disk: Path) -> Path:
    """A file that takes every free block."""
    filler = disk / "filler"
    with filler.open("wb") as f:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                f.write(chunk)
                f.flush()
        with contextlib.suppress(OSError):
            os.fsync(f.fileno())
    return filler


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", "4m") as path:
        yield path


def test_a_full_disk_refuses_orders_then_recovers_with_nothing_lost(
    tmp_path: Path, disk: Path
) -> None:
    with running_cluster(tmp_path, disk / "session") as cluster:
        [bot] = cluster.register(1)
        acked = []
        for n in range(20):
            r = order(cluster, bot, n)
            assert r.status_code == 200, r.text
            acked.append(r.json()["order_id"])
        filler = fill_up(disk)
        refused = []
        for n in range(20, 60):
            r = order(cluster, bot, n)
            body = r.json()
            if body["success"]:
                acked.append(body["order_id"])  # the last free bytes may still take one
            else:
                refused.append((r.status_code, body["error"]))
        assert refused, "a full disk must refuse orders"
        assert all(status == 503 and e["code"] == "SERVICE_UNAVAILABLE" for status, e in refused)
        assert any("No space left" in e["message"] for _, e in refused)
        assert all("retry_after" in e["details"] for _, e in refused)
        book = httpx.get(f"{cluster.url}/orderbook/SPY_440_CALL", timeout=10)
        assert book.status_code == 200  # reads go on
        filler.unlink()  # space returns

        def accepted_again() -> bool:
            r = order(cluster, bot, 99)
            if r.json()["success"]:
                acked.append(r.json()["order_id"])
                return True
            return False

        wait_until(accepted_again, 30, "orders after space returned")
        assert set(acked) <= cluster.logged_orders()
    assert verify(disk / "session") == 0


def test_a_read_only_data_dir_refuses_orders_then_recovers(tmp_path: Path, disk: Path) -> None:
    """A filesystem with open writers cannot be remounted read-only, so the engine goes
    down first; on a read-only data dir it refuses to start with one clear line, the
    gateway keeps serving reads and answers writes 503; writable again, all is back."""
    with running_cluster(tmp_path, disk / "session") as cluster:
        [bot] = cluster.register(1)
        acked = [order(cluster, bot, n).json()["order_id"] for n in range(5)]
        assert cluster.engine is not None
        cluster.engine.stop()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            refused = Proc.tradepit(
                "engine", "--data-dir", str(cluster.session), log=tmp_path / "ro.log"
            )
            assert refused.proc.wait(60) == 2
            refused.stop()
            assert refused.lines == [
                f"error: cannot open the lock file {cluster.session / 'log' / 'LOCK'}: "
                f"{os.strerror(errno.EROFS)}"
            ]
            r = order(cluster, bot, 5)
            assert r.status_code == 503
            assert r.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
            book = httpx.get(f"{cluster.url}/orderbook/SPY_440_CALL", timeout=10)
            assert book.status_code == 200
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        cluster.start_engine()

        def accepted_again() -> bool:
            r = order(cluster, bot, 6)
            if r.json()["success"]:
                acked.append(r.json()["order_id"])
                return True
            return False

        wait_until(accepted_again, 30, "orders after the disk is writable again")
        assert set(acked) <= cluster.logged_orders()
    assert verify(disk / "session") == 0
