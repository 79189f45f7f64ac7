"""Issue 5's acceptance: a session recorded with ``tradepit serve`` and two bots verifies;
a flipped byte is corruption at that record's seq; a changed config value diverges;
``replay serve`` sends a bot the very messages, with the same seqs, that it got live.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import msgspec
import pytest
from websockets.sync.client import connect

from engine import config as configmod
from engine import log as logmod
from engine.log.framing import record_spans
from engine.ports import free_port
from engine.records import StartSession, TeamRegistered, Trade
from engine.replay.verify import verify
from tests.e2e.server import ROOT, running_server
from tests.procs import Proc, wait_until

SHORT = """
[schedule]
tick_seconds = 0.2
pre_open_ticks = 1
auction_ticks = 1
continuous_ticks = 12
"""


class Recording:
    def __init__(
        self, session: Path, keys: list[str], streams: list[list[dict[str, object]]]
    ) -> None:
        self.session = session
        self.keys = keys
        self.streams = streams


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    tmp = tmp_path_factory.mktemp("recorded")
    with running_server(tmp, config=SHORT) as server:
        server.wait_continuous()
        bots = [
            server.register("bot-maker", "market_maker"),
            server.register("bot-fund", "hedge_fund"),
        ]
        keys = [b["api_key"] for b in bots]
        with httpx.Client(base_url=server.url, timeout=30) as client:
            h = {"X-API-Key": keys[0]}
            client.post(
                "/quotes",
                headers=h,
                json={
                    "instrument_id": "SPY_440_CALL",
                    "bid_price": 1.0,
                    "bid_size": 5,
                    "ask_price": 1.05,
                    "ask_size": 5,
                },
            )
            client.post(
                "/orders",
                headers={"X-API-Key": keys[1]},
                json={
                    "instrument_id": "SPY_440_CALL",
                    "side": "buy",
                    "quantity": 3,
                    "order_type": "market",
                },
            )
            client.post(
                "/orders",
                headers={"X-API-Key": keys[1]},
                json={
                    "instrument_id": "SPX_4400_CALL",
                    "side": "buy",
                    "quantity": 2,
                    "order_type": "market",
                },
            )
        # the whole session, to its close, as each bot's stream
        streams = []
        for key in keys:
            with connect(f"ws://127.0.0.1:{server.port}/ws?api_key={key}&last_seq=0") as ws:
                stream: list[dict[str, object]] = []
                while True:
                    msg = json.loads(ws.recv(timeout=60))
                    stream.append(msg)
                    if msg["type"] == "event" and msg["data"].get("phase") == "closed":
                        break
                streams.append(stream)
        session = server.session_dir()
    return Recording(session, keys, streams)


def copy_of(recording: Recording, tmp: Path) -> Path:
    target = tmp / "copy"
    shutil.copytree(recording.session, target, ignore=shutil.ignore_patterns("LOCK", "engine.addr"))
    return target


def test_a_recorded_session_verifies(recording: Recording) -> None:
    out = io.StringIO()
    assert verify(recording.session, out=out) == 0, out.getvalue()
    assert out.getvalue().startswith("OK: ")
    with logmod.open_reader(recording.session / "log") as reader:
        assert any(isinstance(r, Trade) for r in reader.read(1))  # the bots really traded


def test_the_cli_verifies_too(recording: Recording) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "replay", "verify", str(recording.session)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done
    assert " ticks, " in done.stdout
    assert "teams" in done.stdout


def test_a_flipped_payload_byte_is_corruption_at_that_seq(
    recording: Recording, tmp_path: Path
) -> None:
    session = copy_of(recording, tmp_path)
    segment = sorted((session / "log").glob("*.seg"))[0]
    data = bytearray(segment.read_bytes())
    spans = record_spans(bytes(data), segment)
    seq, offset, length = spans[len(spans) // 2]
    data[offset + length // 2] ^= 0x01
    segment.write_bytes(bytes(data))
    out = io.StringIO()
    assert verify(session, out=out) == 1
    assert (
        f"CORRUPT: corrupt record at seq {seq}, byte offset {offset} of {segment}" in out.getvalue()
    )


def test_a_changed_config_value_reports_the_first_divergence(
    recording: Recording, tmp_path: Path
) -> None:
    session = copy_of(recording, tmp_path)
    with logmod.open_reader(session / "log") as reader:
        records = list(reader.read(1))
    start = records[0]
    assert isinstance(start, StartSession)
    config = configmod.from_json(start.config)
    changed = msgspec.structs.replace(
        config, house=msgspec.structs.replace(config.house, size=config.house.size + 1)
    )
    records[0] = msgspec.structs.replace(start, config=configmod.canonical_json(changed))
    shutil.rmtree(session / "log")
    with logmod.open_writer(session / "log") as writer:
        writer.append(records)
    out = io.StringIO()
    assert verify(session, out=out) == 1
    text = out.getvalue()
    first = text.splitlines()[0]
    assert first.startswith("DIVERGED at seq ")
    assert (
        "* quantity" in text or "* bid_size" in text or "* ask_size" in text
    )  # the house size shows
    assert "recorded" in text
    assert "re-executed" in text


def registration_seqs(session: Path) -> list[int]:
    with logmod.open_reader(session / "log") as reader:
        return [
            r.seq
            for r in reader.read(1)
            if isinstance(r, TeamRegistered) and r.team_name.startswith("bot-")
        ]


def position(port: int) -> int:
    value: int = httpx.get(f"http://127.0.0.1:{port}/admin/replay").json()["data"]["position"]
    return value


@pytest.mark.parametrize("speed", ["max", "50"])
def test_replay_serve_sends_what_the_bot_got_live(
    recording: Recording, tmp_path: Path, speed: str
) -> None:
    port = free_port()
    proc = Proc.tradepit(
        "replay",
        "serve",
        str(recording.session),
        "--speed",
        speed,
        "--port",
        str(port),
        log=tmp_path / "replay.log",
    )
    try:
        proc.wait_for("tradepit replay: serving on")
        # a team exists in a replay once its registration has been replayed
        registered = max(registration_seqs(recording.session))
        wait_until(lambda: position(port) >= registered, 60, "the bots' registrations")
        for key, live in zip(recording.keys, recording.streams, strict=True):
            with connect(f"ws://127.0.0.1:{port}/ws?api_key={key}&last_seq=0") as ws:
                replayed = [json.loads(ws.recv(timeout=60)) for _ in live]
            assert replayed == live
        refused = httpx.post(
            f"http://127.0.0.1:{port}/orders",
            headers={"X-API-Key": recording.keys[0]},
            json={"instrument_id": "SPY", "side": "buy", "quantity": 1, "price": 1.0},
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "REPLAY_READ_ONLY"
    finally:
        proc.stop()


def test_replay_serve_pauses_and_steps(recording: Recording, tmp_path: Path) -> None:
    port = free_port()
    proc = Proc.tradepit(
        "replay",
        "serve",
        str(recording.session),
        "--speed",
        "1",
        "--paused",
        "--port",
        str(port),
        log=tmp_path / "replay.log",
    )
    try:
        proc.wait_for("tradepit replay: serving on")
        base = f"http://127.0.0.1:{port}"
        state = httpx.get(f"{base}/admin/replay").json()["data"]
        assert state["paused"] is True
        assert state["position"] == 0
        assert httpx.post(f"{base}/admin/replay/step?to_seq=40").status_code == 200

        def stopped_at_40() -> bool:
            now = httpx.get(f"{base}/admin/replay").json()["data"]
            return bool(now["paused"] and now["position"] == 40)

        wait_until(stopped_at_40, 30, "the replay to stop at seq 40")
        assert httpx.get(f"{base}/health").json()["data"]["applied_seq"] == 40
        httpx.post(f"{base}/admin/replay/resume")
        wait_until(
            lambda: httpx.get(f"{base}/admin/replay").json()["data"]["position"] > 40, 30, "resume"
        )
    finally:
        proc.stop()


def test_export_trades_as_csv(recording: Recording) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "replay",
            "export",
            str(recording.session),
            "--what",
            "trades",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("seq,ts,time,trade_id,instrument_id,price,quantity,buyer,seller")
    assert len(lines) > 1


def _tradepit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_export_messages_as_jsonl_keeps_data_an_object_as_the_stream_sent_it(
    recording: Recording,
) -> None:
    with logmod.open_reader(recording.session / "log") as reader:
        team_id = next(
            r.team_id
            for r in reader.read(1)
            if isinstance(r, TeamRegistered) and r.team_name == "bot-maker"
        )
    done = _tradepit(
        "replay", "export", str(recording.session), "--what", "messages", "--team", team_id,
        "--format", "jsonl",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    live = recording.streams[0]
    assert [r["seq"] for r in rows[: len(live)]] == [m["seq"] for m in live]
    for row, message in zip(rows, live, strict=False):
        assert isinstance(row["data"], dict)
        assert (row["type"], row["data"]) == (message["type"], message["data"])
    csv_out = _tradepit(
        "replay", "export", str(recording.session), "--what", "messages", "--team", team_id,
        "--format", "csv",
    )  # fmt: skip
    first = next(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert json.loads(first["data"]) == rows[0]["data"]  # a CSV cell: the same object as JSON


def test_log_dump_into_a_closed_pipe_ends_without_a_traceback(recording: Recording) -> None:
    """``tradepit log dump DIR | head``: head closes the pipe after a few lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "log", "dump", str(recording.session)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    head = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(60) == 141  # 128 + SIGPIPE, as `yes | head` reports
    assert all(line.startswith(b'{"type":') for line in head)
    assert err == ""


def test_log_verify_counts_what_it_read(recording: Recording) -> None:
    done = _tradepit("log", "verify", str(recording.session))
    assert done.returncode == 0, done.stderr
    with logmod.open_reader(recording.session / "log") as reader:
        head = reader.head_seq
    assert done.stdout.startswith(f"OK: {head} records, seqs 1..{head}, in ")
