"""How ``tradepit serve`` lays out its gateways: how many, on which ports, with which ids.

``--gateways N`` puts N gateway processes on one address with ``SO_REUSEPORT`` (the
kernel spreads connections over them), or with ``--gateway-ports distinct`` on N
consecutive ports. ``--gateways auto`` is one per core the process may run on, less
the one the engine keeps, and at least one. Each gateway is named ``gw-1``, ``gw-2``, ...
in ``/health`` and in every answer's ``X-Gateway-Id`` header.

On a shared port a connection to the address proves only that *some* gateway listens,
so readiness is read from the kernel instead: a gateway is up once one of its file
descriptors is a listening socket on the port (``/proc/PID/fd``, ``/proc/net/tcp*``).
"""

from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass
from pathlib import Path

SHARED = "shared"
DISTINCT = "distinct"
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def count(value: str) -> int:
    """``--gateways``: a positive number, or ``auto`` (one per core, the engine keeps one)."""
    if value == "auto":
        return max(1, cores() - 1)
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', not {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("at least one gateway")
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gateways",
        type=count,
        default=1,
        metavar="N|auto",
        help="gateway processes (1); auto = one per core, less the engine's",
    )
    parser.add_argument(
        "--gateway-ports",
        choices=(SHARED, DISTINCT),
        default=SHARED,
        help="shared: every gateway on --port (SO_REUSEPORT); distinct: consecutive ports",
    )


@dataclass(frozen=True)
class Layout:
    host: str
    port: int
    gateways: int
    mode: str

    def gateway_id(self, index: int) -> str:
        return f"gw-{index + 1}"

    def port_of(self, index: int) -> int:
        return self.port if self.mode == SHARED else self.port + index

    def arguments(self, index: int) -> list[str]:
        """The ``tradepit gateway`` arguments that place gateway ``index``."""
        args = ["--host", self.host, "--port", str(self.port_of(index))]
        args += ["--gateway-id", self.gateway_id(index)]
        return [*args, "--reuse-port"] if self.mode == SHARED else args

    def describe(self, base: str) -> str:
        """What follows the first URL in the banner: the other ports, the gateway ids."""
        ids = ", ".join(self.gateway_id(i) for i in range(self.gateways))
        if self.gateways == 1:
            return f" (gateway {ids})"
        if self.mode == SHARED:
            return f" ({self.gateways} gateways on one port: {ids})"
        others = "".join(f", {base}:{self.port_of(i)}" for i in range(1, self.gateways))
        return f"{others} (gateways {ids})"

    def ports(self) -> list[int]:
        return sorted({self.port_of(i) for i in range(self.gateways)})


def layout(args: argparse.Namespace) -> Layout:
    return Layout(args.host, args.port, args.gateways, args.gateway_ports)


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` already.

    A shared port must start empty: ``SO_REUSEPORT`` would otherwise let a gateway of
    another session (same user) keep taking a share of the connections.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # REUSEADDR: connections of an earlier run in TIME_WAIT do not count, listeners do
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError:
            return True
    return False


def listening(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` has a listening socket on ``port``; None where /proc cannot say."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    inodes: set[str] = set()
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False
