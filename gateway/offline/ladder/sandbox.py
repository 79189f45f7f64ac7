"""One bot as a child process under limits, and its CPU time as the ladder measures it.

Enforced on every bot (Linux, no root needed):
- ``RLIMIT_CPU``: the heat's CPU seconds at most (the kernel kills on the hard limit);
- ``RLIMIT_AS``: its address space (memory), ``RLIMIT_NOFILE``: its open files;
- its own process group (``setsid``), so a bot that forks is stopped whole;
- a per-tick budget in CPU time: ``cpu_seconds`` sums utime + stime from
  ``/proc/PID/stat`` over the bot's process group, which the heat compares at each tick.
  CPU time, not wall time, so a loaded machine does not make a bot late.

The network is not closed here: a bot must reach the heat's server on loopback, and a
network namespace of its own (``unshare -n``) would have no route to it. Running the
whole ladder in a loopback-only namespace does it (docs/ladder.md, docs/operations.md).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 120  # RLIMIT_CPU over the whole heat
    memory_bytes: int = 2 << 30  # RLIMIT_AS: Python with its libraries maps ~0.5 GiB
    open_files: int = 256
    tick_cpu_seconds: float = 0.5  # the per-tick budget
    start_cpu_seconds: float = 10.0  # before the first tick: imports, connecting


def _limiter(limits: Limits) -> Callable[[], None]:
    def preexec() -> None:  # runs in the child between fork and exec
        os.setsid()
        cpu = limits.cpu_seconds
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))

    return preexec


def start(command: str, env: dict[str, str], out: Path, limits: Limits) -> subprocess.Popen[bytes]:
    """The bot's command through the shell; its stdout and stderr to ``out``.out/.err."""
    with out.with_suffix(".out").open("wb") as stdout, out.with_suffix(".err").open("wb") as err:
        return subprocess.Popen(
            ["/bin/sh", "-c", command],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=err,
            # setsid and setrlimit only: async-signal-safe enough beside the ladder's
            # output-pump threads (no lock is taken between fork and exec)
            preexec_fn=_limiter(limits),
            close_fds=True,
        )


def cpu_seconds(pgids: set[int]) -> dict[int, float]:
    """The CPU time of every live process of each group, and of their reaped children
    (one pass over /proc for all the heat's bots)."""
    total = dict.fromkeys(pgids, 0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue  # gone meanwhile
        # the command name (field 2) may hold spaces and parentheses: split after it
        fields = raw[raw.rindex(b")") + 2 :].split()
        pgid = int(fields[2])  # field 5, pgrp
        if pgid not in total:
            continue
        # fields 14-17: utime, stime, cutime, cstime (the reaped children's, e.g. a
        # shell's finished pipeline)
        total[pgid] += sum(int(x) for x in fields[11:15])
    return {g: t / CLOCK_TICKS for g, t in total.items()}


def stop(proc: subprocess.Popen[bytes], grace: float = 3.0) -> int:
    """Stop the bot's whole group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    code = proc.wait()
    with contextlib.suppress(ProcessLookupError):  # what the shell left in the group
        os.killpg(proc.pid, signal.SIGKILL)
    return code
