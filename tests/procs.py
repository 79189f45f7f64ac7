"""Child processes for tests: start one, collect its output, wait for a line, stop it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Proc:
    """A child whose merged stdout/stderr is copied to ``log`` and kept as lines."""

    def __init__(self, args: list[str], log: Path, *, cwd: Path = ROOT) -> None:
        self.args = args
        self.log = log
        self.proc = subprocess.Popen(
            args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
        self.lines: list[str] = []
        self.exited = False
        self.changed = threading.Condition()
        self._pump = threading.Thread(target=self._copy, daemon=True)
        self._pump.start()

    @classmethod
    def tradepit(cls, *args: str, log: Path) -> Proc:
        return cls([sys.executable, "-m", "engine.cli", *args], log)

    def _copy(self) -> None:
        assert self.proc.stdout is not None
        with self.log.open("ab") as out:
            for raw in self.proc.stdout:
                out.write(raw)
                out.flush()
                with self.changed:
                    self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                    self.changed.notify_all()
        with self.changed:
            self.exited = True
            self.changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60, start: int = 0) -> str:
        """The first line from index ``start`` on that matches; fails if the child exits first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines[start:]:
                    if regex.search(line):
                        return line
                if self.exited:
                    raise AssertionError(
                        f"{self.args[3:5]} exited before {pattern!r}:\n{self.output()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {pattern!r} within {timeout}s:\n{self.output()}")
                self.changed.wait(left)

    def output(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._pump.join(10)
        self._close_pipe()

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._pump.join(10)
        self._close_pipe()
        return self.proc.returncode

    def _close_pipe(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def wait_until(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    """Poll a condition another thread or process makes true, up to a deadline."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        tick.wait(0.02)


def tradepit_output(*args: str, env: dict[str, str] | None = None) -> str:
    """What a ``tradepit`` command prints when run to its end (it must succeed)."""
    return python_output("-m", "engine.cli", *args, env=env)


def python_output(*args: str, env: dict[str, str] | None = None) -> str:
    """What ``python ARGS`` prints when run to its end in the repository (it must succeed)."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout
