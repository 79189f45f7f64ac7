"""``./scripts/bench catchup``: how fast a starting gateway catches up a long log.

A session of about 1M records (the real core and market, house and retail flow, one bot
team of each role registered, so every team stream and every tick's score updates are
made) is recorded in process and published to a local single-node JetStream, one
message per command and its events as the engine publishes them. Then, for the gateway
of this checkout and for the gateway of a baseline commit (the last one before the
catch-up work, extracted with ``git archive``; ``TRADEPIT_CATCHUP_BASELINE=REV`` names
another, ``=none`` skips it), in the same run:

- a local gateway (``--data-dir``) and a remote one (``--nats --session``), each timed
  from its process start to its ``/health`` showing the head: records/s;
- this checkout's fold in process (``Gateway.follow`` over the file log, no process
  start, no HTTP): the ceiling the processes approach.

The figure of the NATS issue is "catch-up >= 200k records/s".
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import trio

from benchmarks._support import checkout, record_session
from benchmarks.nats import BENCH_KEY, publish_log, start_gateway
from engine import config as configmod
from engine.log.nats import server
from engine.log.nats.client import NatsLog
from engine.records import ROLES, Command, RegisterTeam

#: The gateway before the catch-up work: main before it was merged. (The commit the work
#: started from, e961751, cannot read these logs: their config has gateway keys added since.)
BASELINE = "3f54efd"
TARGET = 200_000


def baseline_checkout(tmp: Path) -> Path | None:
    """The baseline commit's sources in ``tmp``, or None when asked not to."""
    rev = os.environ.get("TRADEPIT_CATCHUP_BASELINE", BASELINE)
    return None if rev.lower() == "none" else checkout(rev, tmp)


def in_process(log_dir: Path) -> float:
    """Seconds for this checkout's ``Gateway.follow`` to reach the head of ``log_dir``."""
    from gateway.replay.paced import ReadOnlyEngine
    from gateway.service import Gateway
    from gateway.upstream.source import LogSource

    async def main() -> float:
        gw = Gateway(configmod.load(None), ReadOnlyEngine(), LogSource(log_dir))
        async with trio.open_nursery() as nursery:
            started = time.perf_counter()
            await nursery.start(gw.follow)
            await gw.caught_up.wait()
            elapsed = time.perf_counter() - started
            nursery.cancel_scope.cancel()
        return elapsed

    return trio.run(main)


def run(quick: bool) -> dict[str, object]:
    ticks = 1200 if quick else 12000
    bots: list[Command] = [
        RegisterTeam(team_name=f"bot-{r}", role=r, api_key_hash=f"h-{r}") for r in ROLES
    ]
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="tradepit-catchup-") as name:
        tmp = Path(name)
        data = tmp / "recorded"
        records = record_session(data / "log", ticks, bots)
        figures["records"] = records
        nats = server.single(tmp / "nats-server")
        try:
            nats_log = NatsLog(nats.url, "recorded", key=BENCH_KEY)
            try:
                figures["stream_messages"] = publish_log(data / "log", nats_log)
            finally:
                nats_log.close()
            local_args = ["--data-dir", str(data)]
            remote_args = ["--nats", nats.url, "--session", "recorded"]
            checkouts: list[tuple[str, Path | None]] = [("", None)]
            baseline = baseline_checkout(tmp)
            if baseline is not None:
                checkouts.insert(0, ("baseline_", baseline))
            for prefix, checkout in checkouts:
                for where, args in (("local", local_args), ("remote", remote_args)):
                    seconds, clock = start_gateway(args, records, checkout=checkout)
                    figures[f"{prefix}{where}_gateway_s"] = round(seconds, 2)
                    figures[f"{prefix}{where}_gateway_records_per_s"] = round(records / seconds)
                    if clock:  # the gateway's own clock: from its first read, no imports
                        figures[f"{prefix}{where}_catch_up_s"] = round(clock, 2)
                        figures[f"{prefix}{where}_catch_up_records_per_s"] = round(records / clock)
        finally:
            nats.stop()
        seconds = in_process(data / "log")
        figures["in_process_fold_s"] = round(seconds, 2)
        figures["in_process_fold_records_per_s"] = round(records / seconds)
    figures["target_records_per_s"] = TARGET
    for key, value in figures.items():
        print(f"{key:<40}{value:>12}")
    return figures
