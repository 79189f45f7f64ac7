"""Fan-out capacity: the gateway against a bare trio-websocket server, same frames, one run.

Ours: a gateway alone follows a log this process writes. 100 retail teams are
registered in it and one client per team connects and reads its stream up to the head;
then a burst of ticks (every tick's tick_start and market_data, the same broadcasts for
every team) is appended in one batch and the clock runs until every client has its
last message. The baseline: a bare trio-websocket server (``send_message`` per frame
per client, the library's own idiom) sends the same frames, taken from the projection
of that burst, to 100 clients of the same client code as soon as all have connected.
Clients only count frames, so both sides pay the same client cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import websockets

from benchmarks._support import wait_http
from engine import config as configmod
from engine import log as logmod
from engine.core.exchange import Exchange
from engine.ports import free_port
from engine.records import (
    ChangePhase,
    ClockTick,
    Command,
    Record,
    RegisterTeam,
    StartSession,
    stamp,
)
from gateway.projection.fold import Projection
from gateway.projection.messages import stream_frame

CLIENTS = 100

BARE_SERVER = """
import sys
import trio
from trio_websocket import ConnectionClosed, serve_websocket

frames = [line.rstrip(b"\\n").decode() for line in open(sys.argv[1], "rb")]
clients = int(sys.argv[3])

async def main():
    ready = trio.Event()
    count = [0]

    async def handler(request):
        ws = await request.accept()
        count[0] += 1
        if count[0] >= clients:
            ready.set()
        await ready.wait()
        try:
            for text in frames:
                await ws.send_message(text)
            await ws.get_message()  # until the client closes
        except ConnectionClosed:
            pass

    await serve_websocket(handler, "127.0.0.1", int(sys.argv[2]), ssl_context=None)

trio.run(main)
"""


class Session:
    """A log written here: records built by the real core, appended on demand."""

    def __init__(self, directory: Path, clients: int) -> None:
        self.config = configmod.load(None)
        self.core = Exchange(self.config, 5, "fanout")
        self.seq = 0
        self.records: list[Record] = []
        self.keys = [f"fan-key-{i}" for i in range(clients)]
        self.writer = logmod.open_writer(directory, self.config.log)
        prefix: list[Command] = [
            StartSession(
                session_id="fanout",
                seed=5,
                config=configmod.canonical_json(self.config),
                config_hash=configmod.config_hash(self.config),
            ),
            *[
                RegisterTeam(
                    team_name=f"fan-{i}",
                    role="retail",
                    api_key_hash=hashlib.sha256(key.encode()).hexdigest(),
                )
                for i, key in enumerate(self.keys)
            ],
            ChangePhase(phase="continuous"),
        ]
        self.append(self.build(prefix))

    def build(self, commands: list[Command]) -> list[Record]:
        batch: list[Record] = []
        for command in commands:
            stamped = stamp(command, self.seq + 1, 10**18 + self.seq * 10**6)
            events = self.core.apply(stamped)
            batch += [stamped, *events]
            self.seq += 1 + len(events)
        return batch

    def append(self, batch: list[Record]) -> None:
        self.writer.append(batch)
        self.records += batch

    def first_stream(self, extra: list[Record]) -> list[bytes]:
        """The first team's frames over the log plus ``extra`` (a fresh projection)."""
        projection = Projection(self.config)
        frames: list[bytes] = []
        team: str | None = None
        for record in [*self.records, *extra]:
            for d in projection.step(record):  # type: ignore[arg-type]
                team = team or d.team_id
                if d.team_id == team:
                    frames.append(stream_frame(d.seq, d.body))
        return frames

    def close(self) -> None:
        self.writer.close()


async def _count(url: str, before: int, burst: int, ready: asyncio.Event | None) -> float:
    """Read ``before`` frames, then ``burst`` more; the time the last one arrived."""
    async with websockets.connect(url, max_queue=None, max_size=None) as ws:
        for _ in range(before):
            await ws.recv()
        if ready is not None:
            ready.set()
        for _ in range(burst):
            await ws.recv()
        return time.perf_counter()


async def _ours(session: Session, port: int, burst: list[Record], before: int, n: int) -> float:
    readies = [asyncio.Event() for _ in session.keys]
    tasks = [
        asyncio.create_task(_count(f"ws://127.0.0.1:{port}/ws?api_key={key}", before, n, ready))
        for key, ready in zip(session.keys, readies, strict=True)
    ]
    for ready in readies:
        await ready.wait()
    started = time.perf_counter()
    session.append(burst)  # one batch: the gateway follows it as fast as it can
    return max(await asyncio.gather(*tasks)) - started


async def _bare(port: int, n: int, clients: int) -> float:
    url = f"ws://127.0.0.1:{port}/"
    readies = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(_count(url, 0, n, ready)) for ready in readies]
    for ready in readies:  # connected: the server starts once it has them all
        await ready.wait()
    started = time.perf_counter()
    return max(await asyncio.gather(*tasks)) - started


def run(tmp: Path, ticks: int, clients: int = CLIENTS) -> dict[str, object]:
    directory = tmp / "fanout"
    session = Session(directory / "log", clients)
    try:
        before = len(session.first_stream([]))
        burst = session.build([ClockTick()] * ticks)
        frames = session.first_stream(burst)[before:]
        port = free_port()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "gateway", "--data-dir", str(directory),
             "--port", str(port)],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_http(f"http://127.0.0.1:{port}/health", 120)
            ours = asyncio.run(_ours(session, port, burst, before, len(frames)))
        finally:
            gateway.terminate()
            gateway.wait(30)
    finally:
        session.close()
    frames_file = tmp / "fanout-frames.jsonl"
    frames_file.write_bytes(b"".join(f + b"\n" for f in frames))
    script = tmp / "bare_ws.py"
    script.write_text(BARE_SERVER)
    port = free_port()
    bare_proc = subprocess.Popen(
        [sys.executable, str(script), str(frames_file), str(port), str(clients)],
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_tcp(port)
        bare = asyncio.run(_bare(port, len(frames), clients))
    finally:
        bare_proc.terminate()
        bare_proc.wait(30)
    delivered = len(frames) * clients
    return {
        "fan_out_clients": clients,
        "fan_out_messages_per_client": len(frames),
        "fan_out_messages_per_s": round(delivered / ours),
        "bare_trio_websocket_fan_out_per_s": round(delivered / bare),
        "fan_out_ratio_to_bare": round(bare / ours, 2),
    }


def _wait_tcp(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
