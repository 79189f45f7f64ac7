"""The engine's ceiling: commands/s through the real shell and log, with no gateway.

An in-process generator plays many gateways: ``CONCURRENCY`` tasks each submit the
core benchmark's command mix (60% limit, 15% market, 20% cancels, 5% quotes) and wait
for the answer, which comes only once the group commit holding it is durable (the log
fsyncs each batch, the default ``[log] fsync = "batch"``). The same run times the two
parts of that work alone, so the figure says what limits it:

- the core applying the same commands and encoding their events, with no log;
- the log appending the records those commands made, in batches of the size the
  engine formed, with fsync.

- the generator, the inbox and the sequencer loop alone (the same answers, no core, no
  log): the cost of this benchmark's own harness, subtracted from the rest.

Baseline: the core alone is the engine's floor of cost per command; the engine's
rate over the core's is the share the shell and log leave it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import msgspec
import trio

from benchmarks.core import commands
from engine import log as logmod
from engine.config import Config
from engine.records import Command, Record, StartSession, encode
from engine.shell.rounds import Inbox
from engine.shell.sequencer import Engine, log_dir
from engine.wire import Refused, Reply

CONCURRENCY = 256


def _config() -> Config:
    core, _, _ = commands(1)
    # the mix prices around its own mids, not the simulation's fair values
    return msgspec.structs.replace(
        core.config, price_limits=msgspec.structs.replace(core.config.price_limits, enabled=False)
    )


async def _drive(engine: Engine, setup: list[Command], mix: list[Command]) -> float:
    for command in setup:
        if not isinstance(command, StartSession):
            answer = await engine.submit(command)
            assert not isinstance(answer, Refused), answer
    chunks = [mix[i::CONCURRENCY] for i in range(CONCURRENCY)]

    async def worker(chunk: list[Command]) -> None:
        for command in chunk:
            answer = await engine.submit(command)
            assert not isinstance(answer, Refused), answer

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for chunk in chunks:
            nursery.start_soon(worker, chunk)
    return time.perf_counter() - started


class _Counting(Engine):
    """The real engine, counting its group commits."""

    batches = 0

    async def _commit(self, batch: list[Inbox]) -> None:
        self.batches += 1
        await super()._commit(batch)


class _Null(_Counting):
    """The same inbox, batching and answers, with no core and no log: the generator's
    and the sequencer loop's own cost (the baseline to subtract)."""

    async def _commit(self, batch: list[Inbox]) -> None:
        self.batches += 1
        await trio.lowlevel.checkpoint()
        for _, request_id, answer in batch:
            if answer is not None:
                answer(Reply(request_id, 0, []))


def engine_rate(tmp: Path, count: int, null: bool = False) -> dict[str, float]:
    config = _config()
    _, setup, mix = commands(count)
    engine = (_Null if null else _Counting)(tmp / ("null" if null else "engine"), config, seed=1)
    batches = 0

    async def main() -> float:
        nonlocal batches
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.serve, "127.0.0.1", 0, False)
            await _drive(engine, setup, [])
            before = engine.batches
            elapsed = await _drive(engine, [], mix)
            batches = max(engine.batches - before, 1)
            nursery.cancel_scope.cancel()
        return elapsed

    elapsed = trio.run(main)
    return {
        "engine_commands_per_s": count / elapsed,
        "engine_batches": batches,
        "engine_commands_per_batch": count / batches,
    }


def core_rate(count: int) -> float:
    """The same commands through the core alone, events encoded (no log, no shell)."""
    from benchmarks.core import prepared

    core, batch = prepared(count)
    started = time.perf_counter()
    for command in batch:
        for event in core.apply(command):
            encode(event)
    return count / (time.perf_counter() - started)


def log_rate(tmp: Path, count: int, per_batch: int) -> float:
    """The records those commands make, appended in batches of the engine's size, fsynced."""
    from benchmarks.core import prepared

    core, batch = prepared(count)
    records: list[Record] = []
    for command in batch:
        records.append(command)
        records.extend(core.apply(command))
    config = _config()
    writer = logmod.open_writer(log_dir(tmp / "log-only"), config.log)
    # the log wants contiguous seqs from 1: restamp in order
    restamped = [msgspec.structs.replace(r, seq=i) for i, r in enumerate(records, 1)]
    step = max(1, round(len(restamped) / max(1, count / per_batch)))
    started = time.perf_counter()
    try:
        for i in range(0, len(restamped), step):
            writer.append(restamped[i : i + step])
    finally:
        writer.close()
    return count / (time.perf_counter() - started)


def run(quick: bool) -> dict[str, object]:
    count = 5_000 if quick else 40_000
    with tempfile.TemporaryDirectory(prefix="tradepit-engine-") as name:
        tmp = Path(name)
        engine = engine_rate(tmp, count)
        null = engine_rate(tmp, count, null=True)["engine_commands_per_s"]
        core = core_rate(count)
        log = log_rate(tmp, count, round(engine["engine_commands_per_batch"]))
    rate = engine["engine_commands_per_s"]
    figures: dict[str, object] = {
        "commands": count,
        "concurrency": CONCURRENCY,
        "engine_commands_per_s": round(rate),
        "engine_commands_per_batch": round(engine["engine_commands_per_batch"], 1),
        "core_alone_commands_per_s": round(core),
        "log_alone_commands_per_s": round(log),
        "generator_and_inbox_alone_per_s": round(null),
        "engine_ratio_to_core": round(rate / core, 2),
        # where the engine's time per command goes, in microseconds
        "us_per_command": round(1e6 / rate, 1),
        "us_core": round(1e6 / core, 1),
        "us_log": round(1e6 / log, 1),
        "us_generator_and_inbox": round(1e6 / null, 1),
        "us_shell_rest": round(1e6 / rate - 1e6 / core - 1e6 / log - 1e6 / null, 1),
    }
    for key, value in figures.items():
        print(f"{key:<36}{value:>12}")
    return figures
