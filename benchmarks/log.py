"""``./scripts/bench log``: durable append at batch 1, 64 and 1024, read-scan, and the ceiling.

The ceiling is msgspec encoding plus our framing (length, seq, CRC32) into memory with
no I/O, measured in the same run, so the figures are ratios on whatever machine runs it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import msgspec

from engine import log as logmod
from engine.config import LogConfig
from engine.log.framing import encode_batch
from engine.records import OrderAccepted, Record, SubmitOrder, Trade


def sample(seq: int) -> Record:
    """A realistic mix: orders in, acceptances and trades out."""
    kind = seq % 3
    if kind == 0:
        return SubmitOrder(
            seq=seq,
            ts=seq * 1000,
            team_id="TEAM_0007",
            instrument_id="SPX_4400_CALL",
            side="buy",
            quantity=5,
            order_type="limit",
            price=2545,
            client_order_id=f"bot-{seq}",
        )
    if kind == 1:
        return OrderAccepted(
            seq=seq,
            ts=seq * 1000,
            order_id=f"ORD_{seq:08d}",
            team_id="TEAM_0007",
            instrument_id="SPX_4400_CALL",
            side="buy",
            order_type="limit",
            quantity=5,
            price=2545,
        )
    return Trade(
        seq=seq,
        ts=seq * 1000,
        trade_id=f"TRD_{seq:08d}",
        instrument_id="SPX_4400_CALL",
        price=2545,
        quantity=5,
        maker_order_id="ORD_00000001",
        maker_team_id="TEAM_0001",
        maker_side="sell",
        maker_fee=10,
        maker_remaining=0,
        taker_order_id=f"ORD_{seq:08d}",
        taker_team_id="TEAM_0007",
        taker_fee=-10,
        taker_remaining=0,
    )


def ceiling(records: list[Record]) -> float:
    """Encoding and framing alone, in memory: batches of 1024 as the log writes them."""
    encoder = msgspec.msgpack.Encoder()
    buf = bytearray()
    started = time.perf_counter()
    for i in range(0, len(records), 1024):
        encode_batch(encoder, records[i : i + 1024], buf)
    return len(records) / (time.perf_counter() - started)


def append_rate(directory: Path, records: list[Record], batch: int) -> float:
    with logmod.open_writer(directory, LogConfig(fsync="batch")) as writer:
        started = time.perf_counter()
        for i in range(0, len(records), batch):
            writer.append(records[i : i + batch])
        return len(records) / (time.perf_counter() - started)


def scan_rate(directory: Path) -> tuple[float, int]:
    with logmod.open_reader(directory) as reader:
        started = time.perf_counter()
        count = sum(1 for _ in reader.read(1))
        return count / (time.perf_counter() - started), count


def run(quick: bool) -> dict[str, object]:
    total = 100_000 if quick else 400_000
    records = [sample(seq) for seq in range(1, total + 1)]
    figures: dict[str, object] = {"records": total}
    figures["ceiling_encode_frame_per_s"] = round(ceiling(records))
    with tempfile.TemporaryDirectory(prefix="tradepit-bench-") as tmp:
        for batch, count in ((1, 2_000 if quick else 5_000), (64, total // 4), (1024, total)):
            figures[f"append_batch_{batch}_per_s"] = round(
                append_rate(Path(tmp) / f"b{batch}", records[:count], batch)
            )
        rate, count = scan_rate(Path(tmp) / "b1024")
        assert count == total
        figures["read_scan_per_s"] = round(rate)
    append_1024, ceiling_rate = (
        figures["append_batch_1024_per_s"],
        figures["ceiling_encode_frame_per_s"],
    )
    assert isinstance(append_1024, int)
    assert isinstance(ceiling_rate, int)
    figures["append_1024_vs_ceiling"] = round(append_1024 / ceiling_rate, 3)
    figures["targets"] = {"append_batch_1024_per_s": 500_000, "read_scan_per_s": 1_000_000}
    print(f"{'what':<34}{'records/s':>14}")
    for key, value in figures.items():
        if key.endswith("_per_s"):
            print(f"{key:<34}{value:>14,}")
    print(f"{'append at 1024 / ceiling':<34}{figures['append_1024_vs_ceiling']:>14}")
    return figures
