"""``tradepit serve`` as a child of an offline command (a tournament's or a ladder's heat):
its output copied to a file, its banner awaited, a clean stop."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path


class ServeChild:
    def __init__(
        self,
        cmd: list[str],
        log: Path,
        *,
        env: Mapping[str, str] | None = None,
        new_session: bool = False,
    ) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            start_new_session=new_session,
        )
        self.session: Path | None = None
        self.ready = threading.Event()  # set once the banner names the session, or at exit
        self._pump = threading.Thread(target=self._copy, daemon=True)
        self._pump.start()

    def _copy(self) -> None:
        assert self.proc.stdout is not None
        with self.log.open("wb") as out:
            for raw in self.proc.stdout:
                out.write(raw)
                out.flush()
                line = raw.decode(errors="replace").strip()
                # the banner's session line comes after "tradepit is running"
                if line.startswith("session (") and "): " in line:
                    self.session = Path(line.split("): ", 1)[1])
                    self.ready.set()
        self.ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # the clean stop: log flushed, ENDED
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._pump.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
