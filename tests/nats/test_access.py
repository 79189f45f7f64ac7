"""Credentials from files and the environment, never a command line; the session key;
the engine's check of a command's proof (pure: no server)."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest

from engine.log.nats import access
from engine.log.nats.access import NatsAccess, NatsAccessError, check_url, redact
from engine.log.nats.seal import Replays, command_headers

KEY = bytes(range(32))
NOW = 1_000_000_000_000_000_000


def test_a_url_holding_credentials_is_refused_without_showing_them() -> None:
    for url in ("nats://engine:s3cret@h:4222", "nats://a:4222,nats://tok3n@b:4222"):
        with pytest.raises(NatsAccessError) as caught:
            check_url(url)
        assert "s3cret" not in str(caught.value)
        assert "tok3n" not in str(caught.value)
        assert "--nats-creds" in str(caught.value)
    assert check_url("nats://a:4222,tls://b:4222") == "nats://a:4222,tls://b:4222"


def test_redact_hides_every_servers_credentials() -> None:
    assert redact("nats://u:p@a:1, tls://t@b:2,c:3") == "nats://***@a:1,tls://***@b:2,c:3"


def test_credentials_files_of_each_kind(tmp_path: Path) -> None:
    def options(text: str) -> dict[str, object]:
        path = tmp_path / "creds"
        path.write_text(text)
        return NatsAccess(creds=str(path)).connect_options()

    assert options("gateway:pw\n") == {"user": "gateway", "password": "pw"}
    assert options("t0ken\n") == {"token": "t0ken"}
    assert options("SUAM" + "A" * 54) == {"nkeys_seed": str(tmp_path / "creds")}
    jwt = "-----BEGIN NATS USER JWT-----\neyJ\n------END NATS USER JWT------\n"
    assert options(jwt) == {"user_credentials": str(tmp_path / "creds")}
    with pytest.raises(NatsAccessError, match=r"expected a \.creds file"):
        options("two\nlines\n")


def test_options_and_the_environment(tmp_path: Path) -> None:
    args = argparse.Namespace(nats_creds=None, nats_tls_ca=None, nats_tls_cert=None)
    env = {"TRADEPIT_NATS_USER": "engine", "TRADEPIT_NATS_PASSWORD": "pw"}
    found = NatsAccess.from_args(args, env)
    assert found.connect_options() == {"user": "engine", "password": "pw"}
    assert NatsAccess.from_json(found.to_json()) == found  # how the relay child gets it
    args.nats_tls_cert = "client.pem"
    with pytest.raises(NatsAccessError, match="go together"):
        NatsAccess.from_args(args, {})


def test_the_session_key_from_a_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "nats.key"
    key = access.new_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert access.read_key(path, {}) == key
    with pytest.raises(FileExistsError):
        access.new_key(path)  # never replaces the session's key
    assert access.read_key(None, {access.KEY_ENV: KEY.hex()}) == KEY
    assert access.read_key(None, {}) is None
    with pytest.raises(NatsAccessError, match="64 hex digits"):
        access.read_key(None, {access.KEY_ENV: "abc"})


def test_a_command_is_taken_once_with_the_keys_proof_and_in_time() -> None:
    replays = Replays(KEY, "s")
    payload = b"command"
    good = command_headers(KEY, "s", NOW, payload)
    assert replays.check(good, payload, NOW + 10**9) is None
    assert replays.check(good, payload, NOW + 2 * 10**9) == "a replay of a command already taken"
    assert "wrong or missing" in str(replays.check(good, b"other", NOW))
    assert "wrong or missing" in str(
        replays.check(command_headers(KEY, "t", NOW, payload), payload, NOW)
    )
    assert "wrong or missing" in str(
        replays.check(command_headers(bytes(32), "s", NOW, payload), payload, NOW)
    )
    assert replays.check(None, payload, NOW) == "no Tradepit-Ts header"
    late = command_headers(KEY, "s", NOW - 31 * 10**9, payload)
    assert "from the engine's clock" in str(replays.check(late, payload, NOW))
    # remembered no longer than the window: memory stays bounded
    for i in range(1, 1000):
        headers = command_headers(KEY, "s", NOW + i * 10**9, payload)
        assert replays.check(headers, payload, NOW + i * 10**9) is None
    assert len(replays._seen) <= 31
