"""A supervised child dies with its supervisor: ``tradepit serve``'s engine and gateways.

A child that outlives ``serve`` (killed with SIGKILL, so it could stop nobody) keeps the
port and the log's lock, and the next ``serve`` cannot start. Two guards, because either
alone has a hole:

* Linux's ``PR_SET_PDEATHSIG``: the kernel sends the child SIGTERM when its parent dies.
  It fires when the *thread* that forked the child exits, so ``serve`` forks from its
  main thread, never from a worker thread.
* A watch on the parent pid, every ``WATCH_SECONDS``: where prctl is missing, or if the
  parent died before the child could ask for the signal.

Either way the child gets SIGTERM and stops as on Ctrl-C: the engine closes its log.
The supervisor names itself in ``SUPERVISOR_ENV``; a child started without it (by hand,
by tests) is nobody's and watches nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

import trio

SUPERVISOR_ENV = "TRADEPIT_SUPERVISOR_PID"
#: The exit status of an engine whose competition day is over (the closing bell): it
#: closed its log and must not be restarted. ``serve`` then marks the session ENDED and
#: keeps its gateways serving the final standings until the organiser stops it. Any
#: other exit that ``serve`` did not ask for is a crash, and the engine is restarted.
DAY_ENDED_EXIT = 10
WATCH_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def supervisor_pid() -> int | None:
    """The pid of the ``serve`` that started this process, if one did."""
    value = os.environ.get(SUPERVISOR_ENV, "")
    return int(value) if value.isdigit() else None


def bind_to_supervisor() -> int | None:
    """Ask for SIGTERM when the supervisor dies; SIGTERM now if it already has.

    Returns the supervisor's pid (None when unsupervised), for ``watch_supervisor``.
    """
    pid = supervisor_pid()
    if pid is None:
        return None
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)  # best effort: the watch remains
    if os.getppid() != pid:  # died before we asked: nobody would send the signal
        os.kill(os.getpid(), signal.SIGTERM)
    return pid


async def watch_supervisor(pid: int | None) -> None:
    """SIGTERM to ourselves once our parent is no longer ``pid``; forever otherwise."""
    if pid is None:
        await trio.sleep_forever()
    while os.getppid() == pid:
        await trio.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    await trio.sleep_forever()
