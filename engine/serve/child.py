"""A child process of ``serve``, forked from the main thread, awaitable from trio."""

from __future__ import annotations

import os
import signal
import subprocess

import trio

from engine import lifeline


class Child:
    """A child process forked from the calling (main) thread, awaitable from trio.

    ``trio.lowlevel.open_process`` forks in a worker thread, and that thread's exit would
    fire the child's parent-death signal some seconds later.
    """

    def __init__(self, cmd: list[str]) -> None:
        env = {**os.environ, lifeline.SUPERVISOR_ENV: str(os.getpid())}
        # a session of their own: the terminal's Ctrl-C is ours to turn into an ordered stop
        self.popen = subprocess.Popen(cmd, env=env, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def poll(self) -> int | None:
        return self.popen.poll()

    def send_signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        if self.popen.poll() is None and hasattr(os, "pidfd_open"):
            try:
                fd = os.pidfd_open(self.popen.pid)
            except OSError:
                fd = -1  # already reaped
            if fd >= 0:
                try:
                    await trio.lowlevel.wait_readable(fd)
                finally:
                    os.close(fd)
        while self.popen.poll() is None:  # no pidfd here, or it raced: poll
            await trio.sleep(0.05)
        return self.popen.returncode
