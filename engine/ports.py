"""A free TCP port on the loopback interface, for the tools that start servers.

The one copy: local nats-server processes (``engine/log/nats/server.py``), the tests'
servers, the benchmarks and the replay recorder all ask here. The port was free when
asked; another process may take it before the caller binds, which is why callers that
start a server retry on a fresh port when it was taken.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
