"""How a part of tradepit proves itself to NATS, and the session key: never on a command line.

A password in ``--nats nats://user:pass@host`` is readable by every local user in
``ps`` and was printed in ``serve``'s banner, so a URL holding a password is refused
(``NatsAccessError``) and credentials come from files or the environment:

- ``--nats-creds FILE`` (env ``TRADEPIT_NATS_CREDS``): a NATS ``.creds`` file (JWT and
  nkey, operator mode), an nkey seed (a line starting ``SU``), one line
  ``USER:PASSWORD`` (users in nats.conf, as docs/nats.md configures) or one line
  holding a token;
- or ``TRADEPIT_NATS_USER`` and ``TRADEPIT_NATS_PASSWORD`` (or ``TRADEPIT_NATS_TOKEN``);
- TLS: ``--nats-tls-ca FILE`` verifies the server, ``--nats-tls-cert FILE`` and
  ``--nats-tls-key FILE`` present a client certificate (env ``TRADEPIT_NATS_TLS_CA``,
  ``_CERT``, ``_KEY``).

The session key (``seal``) is a file too: ``--nats-key FILE`` or ``TRADEPIT_NATS_KEY``
(the key itself, 64 hex digits). File names may be shown; their contents never are.
"""

from __future__ import annotations

import argparse
import os
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.log.errors import LogError

KEY_ENV = "TRADEPIT_NATS_KEY"
KEY_BYTES = 32


class NatsAccessError(LogError):
    """Credentials or a key that cannot be used; the message says what to do instead."""


@dataclass(frozen=True)
class NatsAccess:
    """Everything but the URL that a NATS connection of ours needs (paths, not secrets,
    except ``user``/``password``/``token`` when they came from the environment)."""

    creds: str | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace, env: Mapping[str, str] = os.environ) -> NatsAccess:
        def pick(option: str, name: str) -> str | None:
            value = getattr(args, option, None)
            return str(value) if value else env.get(name) or None

        access = cls(
            creds=pick("nats_creds", "TRADEPIT_NATS_CREDS"),
            user=env.get("TRADEPIT_NATS_USER") or None,
            password=env.get("TRADEPIT_NATS_PASSWORD") or None,
            token=env.get("TRADEPIT_NATS_TOKEN") or None,
            tls_ca=pick("nats_tls_ca", "TRADEPIT_NATS_TLS_CA"),
            tls_cert=pick("nats_tls_cert", "TRADEPIT_NATS_TLS_CERT"),
            tls_key=pick("nats_tls_key", "TRADEPIT_NATS_TLS_KEY"),
        )
        if bool(access.tls_cert) != bool(access.tls_key):
            raise NatsAccessError("--nats-tls-cert and --nats-tls-key go together")
        return access

    def to_json(self) -> dict[str, str | None]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NatsAccess:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for nats-py's ``Client.connect``."""
        options: dict[str, Any] = {}
        if self.creds:
            options.update(_creds_options(Path(self.creds)))
        elif self.token:
            options["token"] = self.token
        elif self.user or self.password:
            options["user"], options["password"] = self.user, self.password
        if self.tls_ca or self.tls_cert:
            options["tls"] = self.tls_context()
        return options

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.tls_ca)
        if self.tls_cert and self.tls_key:
            try:
                context.load_cert_chain(self.tls_cert, self.tls_key)
            except (OSError, ssl.SSLError) as exc:
                raise NatsAccessError(f"cannot load the client certificate: {exc}") from None
        return context


def _creds_options(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise NatsAccessError(f"cannot read NATS credentials {path}: {exc.strerror}") from None
    if "BEGIN NATS USER JWT" in text:
        return {"user_credentials": str(path)}
    if text.startswith("SU") and "\n" not in text and ":" not in text:
        return {"nkeys_seed": str(path)}
    if "\n" in text or not text:
        raise NatsAccessError(
            f"{path}: expected a .creds file, an nkey seed, USER:PASSWORD or a token on one line"
        )
    user, colon, password = text.partition(":")
    return {"user": user, "password": password} if colon else {"token": text}


def check_url(url: str) -> str:
    """``url`` if none of its servers carries credentials, else refuse it.

    nats-py reads ``nats://USER:PASS@host`` as a password and ``nats://NAME@host`` as a
    token: either is a secret on the command line."""
    for one in url.split(","):
        if "@" in one:
            raise NatsAccessError(
                f"{redact(url)}: NATS credentials on the command line are visible to every "
                "user in `ps`; put them in a file given by --nats-creds FILE, or in "
                "TRADEPIT_NATS_USER/TRADEPIT_NATS_PASSWORD (docs/nats.md)"
            )
    return url


def redact(url: str) -> str:
    """``url`` with every server's credentials replaced by ``***``, for banners and logs."""
    out = []
    for one in url.split(","):
        scheme, sep, rest = one.strip().rpartition("://")
        _, at, host = rest.rpartition("@")
        out.append(f"{scheme}{sep}{'***@' if at else ''}{host}")
    return ",".join(out)


# ---------------------------------------------------------------------- the session key


def parse_key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise NatsAccessError(f"{where}: a session key is {KEY_BYTES * 2} hex digits")
    return key


def read_key(path: Path | None, env: Mapping[str, str] = os.environ) -> bytes | None:
    """The key from ``path`` (``--nats-key``), else ``TRADEPIT_NATS_KEY``, else ``None``."""
    if path is not None:
        try:
            return parse_key(Path(path).read_text(), str(path))
        except OSError as exc:
            raise NatsAccessError(f"cannot read the session key {path}: {exc.strerror}") from None
    if env.get(KEY_ENV):
        return parse_key(env[KEY_ENV], KEY_ENV)
    return None


def new_key(path: Path) -> bytes:
    """A fresh key written to ``path`` (0600, refusing to replace one)."""
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The credential and key options shared by ``engine``, ``gateway`` and ``serve``."""
    parser.add_argument(
        "--nats-key",
        type=Path,
        metavar="FILE",
        help="the session key (64 hex digits) that MACs the stream and the commands "
        f"(or {KEY_ENV}); the engine's default is DATA_DIR/nats.key",
    )
    parser.add_argument(
        "--nats-creds",
        metavar="FILE",
        help="NATS credentials: a .creds file, an nkey seed, USER:PASSWORD or a token "
        "(or TRADEPIT_NATS_CREDS; or TRADEPIT_NATS_USER/_PASSWORD)",
    )
    parser.add_argument("--nats-tls-ca", metavar="FILE", help="CA that signed the NATS servers")
    parser.add_argument("--nats-tls-cert", metavar="FILE", help="client certificate for NATS")
    parser.add_argument("--nats-tls-key", metavar="FILE", help="its private key")
