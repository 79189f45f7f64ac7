"""No secret in a session directory: the admin token stays out of the log's session
record, and the engine's connection secret goes when the engine stops."""

from __future__ import annotations

import itertools
from pathlib import Path

import trio

from engine import config as configmod
from engine import log as logmod
from engine.access import SECRET_FILE
from engine.records import StartSession
from engine.shell.sequencer import Engine, log_dir

TOKEN = "shell-test-admin-token-0c9e"


def test_the_admin_token_is_not_in_the_session_record(tmp_path: Path) -> None:
    config = configmod.load(None, admin={"token": TOKEN})
    clock = itertools.count(1_000_000_000, 1_000)
    engine = Engine(tmp_path, config, seed=3, now_ns=lambda: next(clock))
    engine.open()
    engine.close()
    with logmod.open_reader(log_dir(tmp_path)) as reader:
        [start] = [r for r in reader.read(1) if isinstance(r, StartSession)]
    recorded = configmod.from_json(start.config)
    assert recorded.admin.token is None
    assert start.config_hash == configmod.config_hash(recorded)
    assert recorded == configmod.load(None)  # everything else as configured
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    assert [p for p in files if TOKEN.encode() in p.read_bytes()] == []


async def test_the_engine_secret_goes_with_the_engine(tmp_path: Path) -> None:
    engine = Engine(tmp_path, configmod.load(None), seed=3, append_in_thread=False)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve, "127.0.0.1", 0, False)
        assert (tmp_path / SECRET_FILE).exists()
        nursery.cancel_scope.cancel()
    assert not (tmp_path / SECRET_FILE).exists()
