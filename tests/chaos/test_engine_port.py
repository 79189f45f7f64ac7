"""The engine's command port is for the gateways only (issue 13, attack 4).

A real engine process on loopback. A local user who finds ``engine.addr`` and connects
without the secret of ``engine.secret`` (or with a wrong one) is refused before any
command is read: nothing reaches the log. The session directory is the owner's alone.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import log as logmod
from engine.access import SECRET_FILE, read_secret
from engine.records import DisableTeam, RegisterTeam, SubmitOrder
from engine.wire import (
    ADDR_FILE,
    FrameReader,
    Hello,
    Refused,
    Reply,
    Request,
    WireMessage,
    pack_frame,
    read_address,
)
from tests.procs import Proc

NOBODY = 65534


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # under a directory anyone may enter (pytest's own is 0700): only the session's
    # permissions stand between another user and its files
    root = Path(tempfile.mkdtemp(prefix="tradepit-port-"))
    os.chmod(root, 0o755)
    session = root / "session"
    # no clock: nothing but what this test sends can grow the log
    log = tmp_path_factory.mktemp("port") / "engine.log"
    proc = Proc.tradepit("engine", "--data-dir", str(session), "--no-clock", "--seed", "5", log=log)
    try:
        proc.wait_for("engine listening on")
        yield session
    finally:
        proc.stop()
        shutil.rmtree(root)


def exchange(session: Path, frames: list[bytes], replies: int = 0) -> list[WireMessage]:
    """Send raw frames on one connection; what comes back until the engine closes it
    (or until ``replies`` answers came: an accepted connection stays open)."""
    address = read_address(session)
    assert address is not None
    reader, out = FrameReader(), list[WireMessage]()
    with socket.create_connection(address, timeout=15) as s:
        s.sendall(b"".join(frames))
        while not replies or len(out) < replies:
            try:
                data = s.recv(65536)
            except ConnectionResetError:  # closed with our commands unread: a reset
                break
            if not data:
                break
            out += reader.feed(data)
    return out


def log_bytes(session: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((session / "log").iterdir())}


def records(session: Path) -> list[object]:
    with logmod.open_reader(session / "log") as reader:
        return list(reader.read(1))


ATTACKS = [
    Request(1, DisableTeam(team_id="TEAM_0001")),
    Request(2, RegisterTeam(team_name="intruder", role="market_maker", api_key_hash="x")),
    Request(
        3,
        SubmitOrder(
            team_id="TEAM_0001",
            instrument_id="SPX_4400_CALL",
            side="buy",
            quantity=1,
            order_type="limit",
            price=100,
        ),
    ),
]


@pytest.mark.parametrize(
    "opening",
    [
        pytest.param([], id="no-hello"),
        pytest.param([pack_frame(Hello("0" * 64))], id="wrong-secret"),
        pytest.param([pack_frame(Hello(""))], id="empty-secret"),
        pytest.param([b"\x00\x10\x00\x00" + b"x" * 64], id="oversized-first-frame"),
        pytest.param([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"], id="http"),
    ],
)
def test_a_connection_without_the_secret_is_refused_and_nothing_is_applied(
    engine: Path, opening: list[bytes]
) -> None:
    before = log_bytes(engine)
    answers = exchange(engine, [*opening, *(pack_frame(a) for a in ATTACKS)])
    # one refusal for the connection (none at all for bytes that are not even a frame),
    # never a Reply: the engine closed the connection without reading a command
    assert all(isinstance(a, Refused) and a.code == "UNAUTHORIZED" for a in answers), answers
    assert len(answers) <= 1
    assert log_bytes(engine) == before

    # the same commands with the secret are applied: the refusal was the secret's doing,
    # and the log's first new record is this connection's (nothing refused was queued)
    head = len(records(engine))
    secret = read_secret(engine)
    assert secret is not None
    answers = exchange(
        engine, [pack_frame(Hello(secret)), *(pack_frame(a) for a in ATTACKS)], replies=3
    )
    assert sorted(a.id for a in answers if isinstance(a, Reply)) == [1, 2, 3]
    new = records(engine)[head:]
    # applied: sequenced and decided by the core (the fixture's engine serves every case,
    # so a later case finds "intruder" registered already and is refused as taken)
    assert any(isinstance(r, RegisterTeam) and r.team_name == "intruder" for r in new)
    assert type(new[0]) in (DisableTeam, RegisterTeam, SubmitOrder)


def test_a_restarted_engine_has_a_new_secret(tmp_path: Path) -> None:
    session = tmp_path / "session"
    secrets = []
    for _ in range(2):
        proc = Proc.tradepit("engine", "--data-dir", str(session), "--no-clock", log=tmp_path / "e")
        try:
            proc.wait_for("engine listening on")
            secrets.append(read_secret(session))
        finally:
            proc.stop()
    assert None not in secrets
    assert secrets[0] != secrets[1]


def test_the_session_directory_is_the_owners_alone(engine: Path) -> None:
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(engine) == 0o700
    assert mode(engine / "log") == 0o700
    files = [engine / ADDR_FILE, engine / SECRET_FILE, *(engine / "log").iterdir()]
    assert {p.name for p in files} >= {ADDR_FILE, SECRET_FILE, "COMMITTED", "LOCK"}
    assert any(p.suffix == ".seg" for p in files)
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    if os.geteuid() == 0:  # as another local user: the secret and the seed stay unread
        beside = engine.parent / "public.txt"
        beside.write_text("readable\n")
        beside.chmod(0o644)
        assert as_nobody("cat", str(beside)).returncode == 0  # the probe itself works
        for target in (engine / SECRET_FILE, next((engine / "log").glob("*.seg")), engine):
            probe = as_nobody("ls" if target.is_dir() else "cat", str(target))
            assert probe.returncode != 0
            assert "Permission denied" in probe.stderr, probe.stderr


def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which(args[0]) or args[0], *args[1:]],
        user=NOBODY,
        capture_output=True,
        text=True,
        timeout=30,
    )
