"""The gateway's listening socket: its own port, or one port shared by many gateways.

With ``reuse_port`` every gateway binds the same address with ``SO_REUSEPORT`` and the
kernel spreads incoming connections over them (by a hash of each connection's
addresses, so a fresh connection may land on any gateway). hypercorn sets that option
only for its own multi-worker mode, so the socket is bound here and handed to it as
``fd://N``, which hypercorn documents for pre-bound sockets.
"""

from __future__ import annotations

import socket


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A bound (not yet listening) TCP socket on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host.strip("[]"), port))
    except BaseException:
        sock.close()
        raise
    return sock


def hypercorn_bind(sock: socket.socket) -> str:
    """``sock`` as a hypercorn bind string; hypercorn owns the descriptor from here on."""
    return f"fd://{sock.detach()}"
