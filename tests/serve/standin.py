"""Stand-ins for ``serve``'s children, run as real processes by tests/serve.

``standin.py engine DIR PLAN``: the nth start follows the nth ``lifetime:status`` of
PLAN (comma-separated; the last repeats): it writes ``DIR/engine.addr`` as a started
engine does, lives ``lifetime`` seconds, then exits with ``status``. A negative lifetime
exits before the address is written (an engine that never came up).
``standin.py gateway PORT``: listens on ``PORT`` until killed.
"""

from __future__ import annotations

import signal
import socket
import sys
import time
from pathlib import Path


def engine(data_dir: Path, plan: str) -> int:
    starts = data_dir / "standin-starts"
    n = int(starts.read_text()) if starts.exists() else 0
    starts.write_text(str(n + 1))
    steps = plan.split(",")
    lifetime, status = steps[min(n, len(steps) - 1)].split(":")
    if float(lifetime) >= 0:
        (data_dir / "engine.addr").write_text("127.0.0.1:9\n")
        time.sleep(float(lifetime))
    return int(status)


def gateway(port: int) -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        while True:  # until killed: no timer, no CPU
            signal.pause()


if __name__ == "__main__":
    if sys.argv[1] == "engine":
        sys.exit(engine(Path(sys.argv[2]), sys.argv[3]))
    sys.exit(gateway(int(sys.argv[2])))
