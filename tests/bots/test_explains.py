"""The bot kit explains itself: one clear line for a server it cannot reach and for a key
from another session, a summary at exit (after ``--ticks`` and on Ctrl-C), each
instrument's fair value in ``State``, and replayed messages marked as such.

The example bots run as their own processes against a real ``serve``; every wait polls
a condition up to a deadline."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
from tradepit import Client, Stream
from tradepit.messages import TickStart
from tradepit.models import Registration

from engine.ports import free_port
from tests.e2e.server import ROOT, running_server
from tests.procs import Proc

SUMMARY = re.compile(
    r"^ex-retail: (\d+) ticks, (\d+) fills?; P&L -?[\d,]+\.\d\d, score -?[\d,]+\.\d\d, rank [\d-]+"
    r" among retail teams, requirements (met|unmet: .*); refused \{.*\}$"
)


def example(url: str, key_file: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tradepit.examples.retail", "--url", url, "--name", "ex-retail",
            "--key-file", str(key_file), *extra]  # fmt: skip


def interruptible(command: list[str]) -> list[str]:
    """The command with Ctrl-C as a terminal gives it: a shell that started this test in
    the background left SIGINT ignored, which a child inherits (Python then installs no
    KeyboardInterrupt), so the child puts Python's handler back before running the bot."""
    module, args = command[2], command[3:]
    code = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
        f" sys.argv = [{module!r}, *{args!r}]; runpy.run_module({module!r}, run_name='__main__')"
    )
    return [command[0], "-c", code]


def test_an_unreachable_server_is_one_line_within_seconds(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = subprocess.run(
        example(url, tmp_path / "ex.key"), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # one line, no traceback
    assert f"cannot reach a tradepit server at {url}" in done.stderr
    assert took < 15, took  # the client's first_contact (5 s), not retry_for (60 s)
    print(f"\nunreachable server reported in {took:.1f} s: {done.stderr.strip()}")


def test_a_key_file_from_another_session_says_so(tmp_path: Path) -> None:
    key_file = tmp_path / "ex.key"
    old = Registration("TEAM_0001", "ex", "retail", "k" * 32, "2026-11-01T10:00:00Z")
    key_file.write_bytes(msgspec.json.encode(old))
    with running_server(tmp_path) as server:
        done = subprocess.run(
            example(server.url, key_file), cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "belongs to another session" in done.stderr
    assert f"Delete {key_file}" in done.stderr


def test_a_bot_prints_a_summary_at_exit_and_on_ctrl_c(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        server.wait_continuous()
        done = subprocess.run(
            example(server.url, tmp_path / "ex.key", "--ticks", "8"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        last = done.stdout.splitlines()[-1]
        match = SUMMARY.match(last)
        assert match, last
        assert match.group(1) == "8"
        # the same team again, stopped by Ctrl-C, then by SIGTERM: the summary still comes
        for how, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            bot = Proc(interruptible(example(server.url, tmp_path / "ex.key")), tmp_path / "x")
            bot.wait_for(r"^ex-retail: team TEAM_\d+ \(retail\)", 60)
            bot.proc.send_signal(how)
            assert bot.proc.wait(30) == code, bot.output()
            bot.stop()
            assert SUMMARY.match(bot.lines[-1]), bot.output()
            print(f"\n{last}\n{bot.lines[-1]}")


async def _replayed_and_fair(url: str) -> None:
    async with Client(url) as client:
        await client.register("watcher", "hedge_fund")
        instruments = {i.instrument_id for i in (await client.instruments()).instruments}
        async with asyncio.timeout(60):
            while await client.head() < 40:  # enough of a past to replay
                await asyncio.sleep(0.05)
        # a fresh stream of a short history gets it from seq 1: all of it is old
        stream = Stream(client)
        marks: list[tuple[int, bool]] = []
        live_ticks = 0
        async with asyncio.timeout(60):
            async for msg, _ in stream:
                marks.append((msg.seq, stream.replayed))
                live_ticks += isinstance(msg, TickStart) and not stream.replayed
                if live_ticks == 3:
                    break
        stream.close()
        live_point = stream.live_seq
        assert live_point is not None
        assert live_point >= 40
        assert marks[0] == (1, True)
        assert all(old == (seq <= live_point) for seq, old in marks), (live_point, marks)
        # every instrument's fair value came with its market_data
        assert set(stream.state.fair) == instruments
        assert all(v > 0 for v in stream.state.fair.values())
        # a resumed stream: what it pages from last_seq up to the head is replayed
        resumed = Stream(client, last_seq=10)
        seen: list[tuple[int, bool]] = []
        async with asyncio.timeout(60):
            async for msg, _ in resumed:
                seen.append((msg.seq, resumed.replayed))
                if not resumed.replayed:
                    break
        resumed.close()
        assert resumed.live_seq is not None
        assert seen[0] == (11, True)
        assert seen[-1] == (resumed.live_seq + 1, False)
        assert [s for s, _ in seen] == list(range(11, resumed.live_seq + 2))


def test_replayed_messages_are_marked_and_state_has_fair_values(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        server.wait_continuous()
        asyncio.run(_replayed_and_fair(server.url))
