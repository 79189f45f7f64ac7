"""NATS over TLS with client certificates (``--nats-tls-ca/-cert/-key``), on a real
nats-server that requires both a certificate its CA signed and the user's password."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.log.errors import LogError
from engine.log.nats import server
from engine.log.nats.access import NatsAccess
from engine.log.nats.client import NatsLog
from engine.log.nats.writer import StreamWriter
from engine.records import EngineStarted
from tests.nats import certs
from tests.nats.conftest import TEST_KEY, _binary_or_fail

SESSION = "tls"


@pytest.fixture
def made(tmp_path: Path) -> certs.Certs:
    return certs.make(tmp_path / "certs")


@pytest.fixture
def tls_server(tmp_path: Path, made: certs.Certs) -> Iterator[server.LocalServer]:
    _binary_or_fail()
    secured = server.Secured(
        "engine-pw", "gateway-pw", SESSION, made.server_cert, made.server_key, made.ca
    )
    one = server.single(tmp_path / "nats", secured)
    try:
        yield one
    finally:
        one.stop()


def test_tls_needs_the_ca_and_a_client_certificate_it_signed(
    tmp_path: Path, tls_server: server.LocalServer, made: certs.Certs
) -> None:
    creds = tmp_path / "engine.creds"
    creds.write_text("engine:engine-pw\n")
    url = tls_server.url
    assert url.startswith("tls://")
    refused = {
        "no client certificate": NatsAccess(creds=str(creds), tls_ca=str(made.ca)),
        "another CA's client": NatsAccess(
            creds=str(creds),
            tls_ca=str(made.ca),
            tls_cert=str(made.stranger_cert),
            tls_key=str(made.stranger_key),
        ),
        "the server not trusted": NatsAccess(
            creds=str(creds), tls_cert=str(made.client_cert), tls_key=str(made.client_key)
        ),
    }
    for what, access in refused.items():
        assert "NATS at tls://127.0.0.1" in _refusal(url, access), what
    good = NatsAccess(
        creds=str(creds),
        tls_ca=str(made.ca),
        tls_cert=str(made.client_cert),
        tls_key=str(made.client_key),
    )
    nats_log = NatsLog(url, SESSION, key=TEST_KEY, access=good)
    try:
        StreamWriter(nats_log).append(
            [EngineStarted(seq=i, ts=0, recovered_seq=0) for i in range(1, 4)]
        )
        assert [r.seq for r in nats_log.read(1)] == [1, 2, 3]
    finally:
        nats_log.close()


def _refusal(url: str, access: NatsAccess) -> str:
    try:
        NatsLog(url, SESSION, key=TEST_KEY, access=access).close()
    except LogError as exc:
        return str(exc)
    raise AssertionError("connected")
