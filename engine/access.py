"""A session directory and the engine's command port belong to the user who runs them.

The directory holds the seed (it predicts the market) and every team's orders, so it is
created 0700 and its files 0600 (docs/architecture.md, The contract, rule 7). The
engine's port is on loopback, where any local user can connect: each engine start writes
a fresh random secret to ``engine.secret`` (0600) and refuses every connection whose
first frame is not ``Hello(secret)``. A secret over TCP rather than a Unix socket,
because a gateway is a TCP client of the engine by design (``engine.addr`` names a host
and a port); file permissions decide who can read the secret either way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

SECRET_FILE = "engine.secret"
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) and make it the owner's alone."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    # not ours (its owner decides), or a read-only filesystem: opening the log's lock
    # then fails with its own clear line
    with contextlib.suppress(OSError):
        os.chmod(path, DIR_MODE)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a file only the owner can read."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def new_secret(data_dir: Path) -> str:
    secret = secrets.token_hex(32)
    write_private(data_dir / SECRET_FILE, secret + "\n")
    return secret


def read_secret(data_dir: Path) -> str | None:
    try:
        return (data_dir / SECRET_FILE).read_text().strip() or None
    except OSError:
        return None
