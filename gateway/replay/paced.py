"""Serving a recorded session: the normal gateway over a paced, read-only log.

``PacedSource`` hands the projection every record before ``from_seq`` at once (so teams,
keys and books are right), then the rest at the recorded pace: the gap between two
records' sequencer times divided by ``speed`` (``inf`` = as fast as possible). Pacing
only decides *when* a record is folded, never *what* is served: any speed gives the same
messages with the same seqs. ``ReplayControl`` pauses, resumes and steps to a seq.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import trio

from engine import log as logmod
from engine.records import AnyRecord, Command
from engine.wire import Reply
from gateway.upstream.engine_client import EngineUnavailable
from gateway.upstream.source import read_log

NANOS = 1_000_000_000


@dataclass(frozen=True)
class Replaying:
    """What the edge needs of a replay it serves: its controls and its log, for seeks."""

    control: ReplayControl
    log_dir: Path


class ReplayControl:
    def __init__(self, speed: float, paused: bool = False) -> None:
        self.speed = speed
        self.paused = paused
        self.stop_at: int | None = None  # pause once this seq is served
        self.position = 0  # the last seq handed to the projection
        self.head = 0
        #: the seek index's progress (``gateway.replay.background.Indexing.view``)
        self.indexing: Callable[[], dict[str, object]] = lambda: {"state": "off"}
        self._changed = trio.Event()

    def pause(self) -> None:
        self.paused = True
        self._poke()

    def resume(self) -> None:
        self.paused = False
        self.stop_at = None
        self._poke()

    def step_to(self, seq: int) -> None:
        """Serve at full speed up to ``seq``, then pause."""
        self.stop_at = seq
        self.paused = False
        self._poke()

    def _poke(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def changed(self) -> None:
        await self._changed.wait()

    def view(self) -> dict[str, object]:
        return {
            "paused": self.paused,
            "speed": "max" if math.isinf(self.speed) else self.speed,
            "position": self.position,
            "head": self.head,
            "stop_at": self.stop_at,
            "index": self.indexing(),
        }


class PacedSource:
    def __init__(self, log_dir: Path, control: ReplayControl, from_seq: int = 1) -> None:
        self.log_dir = log_dir
        self.control = control
        self.from_seq = from_seq
        self._unpaced = 0
        with logmod.open_reader(log_dir) as reader:
            control.head = reader.head_seq

    def head(self) -> int:
        # "caught up" for the gateway means: fast-forwarded to where the replay starts
        return max(self.from_seq - 1, 0)

    def nudge(self) -> None:
        pass  # a replay is read-only: nothing new is ever committed

    def read(self, from_seq: int, to_seq: int) -> Iterator[AnyRecord]:
        # the recording, unpaced: the archive asks only for records already served
        return read_log(self.log_dir, from_seq, to_seq)

    async def follow(self, from_seq: int) -> AsyncIterator[AnyRecord]:
        control = self.control
        previous_ts: int | None = None
        self._unpaced = 0
        with logmod.open_reader(self.log_dir) as reader:
            for record in reader.read(from_seq):
                if record.seq >= self.from_seq:
                    await self._wait_turn(record, previous_ts)
                    previous_ts = record.ts
                control.position = record.seq
                yield record
                if control.stop_at is not None and record.seq >= control.stop_at:
                    control.stop_at = None
                    control.paused = True
        while True:  # the recording is over: serve it as it stands
            await trio.sleep_forever()

    async def _wait_turn(self, record: AnyRecord, previous_ts: int | None) -> None:
        control = self.control
        while control.paused:
            await control.changed()
        if previous_ts is None or control.stop_at is not None or math.isinf(control.speed):
            self._unpaced += 1
            if self._unpaced % 256 == 0:  # full speed: yield to the senders now and then
                await trio.lowlevel.checkpoint()
            return
        delay = max(record.ts - previous_ts, 0) / NANOS / control.speed
        with trio.move_on_after(delay):
            await control.changed()  # a pause or a step during the wait takes effect at once
        while control.paused:
            await control.changed()


class ReadOnlyEngine:
    """Order entry against a replay: a clear refusal, never a command."""

    async def request(self, command: Command, *, timeout: float = 10.0) -> Reply:
        raise EngineUnavailable(
            "this is a replay of a recorded session: it takes no orders", "REPLAY_READ_ONLY", None
        )
