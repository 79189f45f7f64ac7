"""The log across processes: a follower sees another's appends; SIGKILL loses nothing acked."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from pathlib import Path

import trio

from engine import log as logmod
from engine.config import LogConfig
from tests.log.test_log import ROOT, records

WRITER = """
import sys
from engine import log
from engine.config import LogConfig
from tests.log.test_log import records
w = log.open_writer(sys.argv[1], LogConfig(segment_bytes=int(sys.argv[2]), fsync="batch"))
seq = w.head_seq + 1
for line in sys.stdin if sys.argv[3] == "stepped" else iter(lambda: "go", None):
    w.append(records(int(sys.argv[4]), seq))
    seq += int(sys.argv[4])
    print(seq - 1, flush=True)
"""


async def test_follow_sees_records_another_process_appends(tmp_path: Path) -> None:
    writer = await trio.lowlevel.open_process(
        [sys.executable, "-c", WRITER, str(tmp_path), "2048", "stepped", "7"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert writer.stdin is not None
    assert writer.stdout is not None
    try:
        await writer.stdin.send_all(b"go\n")  # the first batch creates the log
        await writer.stdout.receive_some()
        seen = []
        with trio.fail_after(60), logmod.open_reader(tmp_path) as reader:
            async with contextlib.aclosing(reader.follow(1, poll=0.001)) as following:
                async for record in following:
                    seen.append(record)
                    if record.seq % 7 == 0 and record.seq < 140:
                        await writer.stdin.send_all(b"go\n")  # the next batch, only now
                    if record.seq == 140:
                        break
        assert seen == records(140)
        segment_files = list(await trio.Path(tmp_path).glob("*.seg"))
        assert len(segment_files) > 3  # followed across rollovers
    finally:
        writer.kill()
        await writer.wait()
        await writer.stdin.aclose()
        await writer.stdout.aclose()


def test_sigkill_mid_append_keeps_every_acknowledged_record(tmp_path: Path) -> None:
    for round_ in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(1 << 16), "free", "50"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert child.stdout is not None
        acknowledged = 0
        for _ in range(40 + 17 * round_):
            acknowledged = int(child.stdout.readline())
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        with logmod.open_writer(tmp_path, LogConfig()) as writer:
            assert writer.head_seq >= acknowledged
            head = writer.head_seq
        with logmod.open_reader(tmp_path) as reader:
            assert list(reader.read(1)) == records(head)
