"""``serve --nats``: the engine's NATS arguments, and a secured local JetStream for a demo.

A bare ``--nats`` starts one nats-server in ``SESSION/nats`` as docs/nats.md configures
a real one: an engine user and a gateway user with their permissions, passwords in
``engine.creds`` and ``gateway.creds`` there (0600; kept, so a resumed session keeps
them), loopback only. The session key is ``SESSION/nats.key``, the engine's default,
made here so that the banner can name it before the engine starts. ``--nats URL`` uses
an existing server with the credential and TLS options given to ``serve``. Nothing
secret reaches a command line or the banner: files are named, URLs redacted.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.access import private_dir, write_private
from engine.log.nats import access

CREDS_OPTIONS = ("nats_creds", "nats_tls_ca", "nats_tls_cert", "nats_tls_key", "nats_key")


@dataclass
class NatsLink:
    url: str
    engine_args: list[str]
    gateway_creds: str  # what the banner tells a remote gateway to give
    key: str  # the banner's ``--nats-key FILE`` ("" when the environment holds the key)
    stop: Callable[[], None] | None = None  # the local server's, if we started one


def _password(path: Path, user: str) -> str:
    """The user's password in ``path``, made once."""
    if path.exists():
        found, _, password = path.read_text().strip().partition(":")
        if found == user and password:
            return password
    password = secrets.token_hex(16)
    write_private(path, f"{user}:{password}\n")
    return password


def link(args: argparse.Namespace, session: Path) -> NatsLink:
    """Start a local server for a bare ``--nats``, and the engine's NATS arguments."""
    key_file = Path(args.nats_key) if args.nats_key else session / "nats.key"
    if not args.nats_key and access.read_key(None) is not None:
        key = ""  # in the environment, where a gateway started alike finds it too
    else:
        key = f"--nats-key {key_file}"
        if not key_file.exists():
            access.new_key(key_file)
    forwarded: list[str] = []
    for option in CREDS_OPTIONS:
        value = getattr(args, option, None)
        if value:
            forwarded += [f"--{option.replace('_', '-')}", str(value)]
    if args.nats != "local":
        url = access.check_url(args.nats)
        engine_args = ["--nats", url, "--session", session.name, *forwarded]
        return NatsLink(url, engine_args, "YOUR_GATEWAY_CREDS", key)
    from engine.log.nats import server

    directory = session / "nats"
    private_dir(directory)
    engine_creds, gateway_creds = directory / "engine.creds", directory / "gateway.creds"
    secured = server.Secured(
        _password(engine_creds, "engine"), _password(gateway_creds, "gateway"), session.name
    )
    local = server.single(directory, secured)
    engine_args = ["--nats", local.url, "--session", session.name, *forwarded]
    engine_args += ["--nats-creds", str(engine_creds)]
    return NatsLink(local.url, engine_args, str(gateway_creds), key, local.stop)


def banner(link: NatsLink, session: Path) -> str:
    url = access.redact(link.url)
    return (
        f"  NATS JetStream:   {url} (stream TRADEPIT_{session.name})\n"
        f"  remote gateway:   tradepit gateway --nats {url} --session {session.name} "
        f"{link.key}{' ' if link.key else ''}--nats-creds {link.gateway_creds} --port 8100\n"
    )
