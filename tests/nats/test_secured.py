"""An open NATS port does not hand over the session (issue 38, point 2).

Real processes: a nats-server with docs/nats.md's accounts (``server.accounts``), an
engine with the engine's credential, a remote gateway with the gateway's, two bots
trading through it. Meanwhile an intruder tries, on the same server: no credential at
all, the gateway's credential publishing to the log, deleting and purging the stream,
commands without the session key's proof, and, with the engine's own (stolen)
credential, forged batches in the stream. Each is refused; the session goes on (orders
acknowledged after every attack); the engine is then killed and a new one rebuilds
from the stream, forgeries skipped, with every acknowledged order and a clean
``replay verify``.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from engine import log as logmod
from engine.log.errors import LogError
from engine.log.nats import jetstream, server
from engine.log.nats.access import NatsAccess
from engine.log.nats.client import NatsLog
from engine.log.nats.messages import COUNT, FIRST_SEQ, Names, split
from engine.log.nats.seal import MAC, command_headers, reply_mac
from engine.records import DisableTeam, EngineStarted, OrderAccepted, SetClock
from engine.wire import Refused, Reply, Request, decode, encode
from tests.chaos.cluster import acked, trade
from tests.nats.conftest import TEST_KEY, _binary_or_fail
from tests.nats.session import SESSION, nats_session, phase, register
from tests.procs import ROOT, wait_until

NAMES = Names(SESSION)
#: Forged batches the stolen engine credential slips into the stream.
FORGED = 5


class Creds:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.engine_password = secrets.token_hex(16)
        self.gateway_password = secrets.token_hex(16)
        self.engine = directory / "engine.creds"
        self.gateway = directory / "gateway.creds"
        for path, text in (
            (self.engine, f"engine:{self.engine_password}"),
            (self.gateway, f"gateway:{self.gateway_password}"),
        ):
            path.touch(mode=0o600)
            path.write_text(text + "\n")


@pytest.fixture
def creds(tmp_path: Path) -> Creds:
    return Creds(tmp_path / "creds")


@pytest.fixture
def secured_server(tmp_path: Path, creds: Creds) -> Iterator[server.LocalServer]:
    _binary_or_fail()
    secured = server.Secured(creds.engine_password, creds.gateway_password, SESSION)
    one = server.single(tmp_path / "nats", secured)
    try:
        yield one
    finally:
        one.stop()


async def _as(url: str, creds: Path | None) -> Client:
    access = NatsAccess(creds=str(creds)) if creds else NatsAccess()
    return await jetstream.connect(url, "intruder", access)


async def _refused(coro: Any) -> str:
    """The error an attempt ends with (permissions: the server answers nothing)."""
    try:
        await coro
    except (TimeoutError, nats.errors.Error) as exc:
        return type(exc).__name__
    raise AssertionError("the attempt succeeded")


async def _attacks(url: str, creds: Creds, next_seq: int) -> dict[str, str]:
    """Every attempt of the intruder; what each met."""
    met: dict[str, str] = {}
    try:
        await _as(url, None)
    except LogError as exc:
        met["anonymous"] = str(exc)
    gateway = await _as(url, creds.gateway)
    engine = await _as(url, creds.engine)
    try:
        gjs, ejs = gateway.jetstream(timeout=2.0), engine.jetstream(timeout=2.0)
        met["gateway publishes to the log"] = await _refused(
            gjs.publish(NAMES.log_subject, b"x", timeout=2.0)
        )
        for who, js in (("gateway", gjs), ("engine", ejs)):
            met[f"{who} deletes the stream"] = await _refused(js.delete_stream(NAMES.stream))
            met[f"{who} purges the stream"] = await _refused(js.purge_stream(NAMES.stream))
            met[f"{who} deletes a message"] = await _refused(js.delete_msg(NAMES.stream, 1))
        # commands as a gateway would send them, without the session key's proof
        stop = encode(Request(1, SetClock(running=False)))
        disable = encode(Request(2, DisableTeam(team_id="T0001")))
        wrong_key = command_headers(bytes(32), SESSION, 0, disable)
        for what, payload, headers in (
            ("no proof", stop, None),
            ("another key", disable, wrong_key),
            ("a proof of other bytes", disable, command_headers(TEST_KEY, SESSION, 1, stop)),
        ):
            reply = await gateway.request(
                NAMES.commands_subject, payload, timeout=10, headers=headers
            )
            answer = decode(reply.data)
            assert isinstance(answer, Refused), what
            met[f"command with {what}"] = answer.code
        # the engine's credential, stolen: forged batches land in the stream
        for i in range(FORGED):
            (chunk,) = split([EngineStarted(seq=next_seq + i, ts=0, recovered_seq=0)], 1 << 20)
            headers = {FIRST_SEQ: str(chunk.first), COUNT: str(chunk.count), MAC: "0" * 64}
            await ejs.publish(NAMES.log_subject, chunk.payload, headers=headers)
    finally:
        await gateway.close()
        await engine.close()
    return met


@pytest.mark.slow
def test_a_reachable_nats_port_does_not_control_the_session(
    tmp_path: Path, secured_server: server.LocalServer, creds: Creds
) -> None:
    url = secured_server.url
    with nats_session(
        tmp_path,
        url,
        engine_access=["--nats-creds", str(creds.engine)],
        gateway_access=["--nats-creds", str(creds.gateway)],
    ) as s:
        engine_a = s.start_engine(tmp_path / "host-a")
        port = s.start_remote_gateway()
        bots = register(port, 2)
        stop = threading.Event()
        threads = [
            threading.Thread(target=trade, args=(b, f"http://127.0.0.1:{port}", stop, i))
            for i, b in enumerate(bots)
        ]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: acked(bots) >= 50, 120, "50 acknowledged orders")
            reader = NatsLog(
                url, SESSION, key=TEST_KEY, access=NatsAccess(creds=str(creds.gateway))
            )
            try:
                next_seq = reader.head().log_seq + 1
            finally:
                reader.close()
            met = asyncio.run(_attacks(url, creds, next_seq))
            assert "Authorization Violation" in met.pop("anonymous")
            assert set(met.values()) <= {"TimeoutError", "NoRespondersError", "UNAUTHORIZED"}
            assert {k for k, v in met.items() if v == "UNAUTHORIZED"} == {
                "command with no proof",
                "command with another key",
                "command with a proof of other bytes",
            }
            # the session goes on: the clock runs, orders are acknowledged
            at_attack = acked(bots)
            wait_until(lambda: acked(bots) >= at_attack + 100, 120, "orders after the attacks")
            assert phase(port) == "continuous"
            gateway_log = s.gateways[0].output()
            assert "is not sealed with the session key" in gateway_log
            # the engine is lost; a new one rebuilds from the stream, forgeries skipped
            engine_a.kill()
            host_b = tmp_path / "host-b"
            s.start_engine(host_b)
            at_kill = acked(bots)
            wait_until(lambda: acked(bots) >= at_kill + 50, 180, "orders through engine B")
        finally:
            stop.set()
            for t in threads:
                t.join(30)

    with logmod.open_reader(host_b / "log") as log_reader:
        logged = {r.order_id for r in log_reader.read(1) if isinstance(r, OrderAccepted)}
    for bot in bots:
        assert bot.acked, bot.name
        assert set(bot.acked) <= logged, bot.name
        assert not bot.other, bot.other[:3]
    verify = subprocess.run(
        [sys.executable, "-m", "engine.cli", "replay", "verify", str(host_b)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    skipped = _unsealed(url, creds)
    assert len(skipped) == FORGED, skipped  # the forgeries only: nothing else got in
    total = acked(bots)
    print(  # RELIABILITY.md's figures (`pytest -s`)
        f"refused: {sorted(met)}; acked before the attacks {at_attack}, after them "
        f"{at_kill - at_attack} (engine A), {total - at_kill} (engine B); "
        f"{total} acked, {len(logged)} orders in the rebuilt log; unsealed {skipped}"
    )


def _unsealed(url: str, creds: Creds) -> list[int]:
    """Stream seqs of the messages the session key did not seal."""
    reader = NatsLog(url, SESSION, key=TEST_KEY, access=NatsAccess(creds=str(creds.gateway)))
    try:

        async def scan() -> list[int]:
            info = await reader.js.js.stream_info(NAMES.stream)
            out = []
            for seq in range(1, info.state.last_seq + 1):
                m = await reader.js.message(seq)
                if reader.js.sealed(m) is None:
                    out.append(seq)
            return out

        return reader.sync(scan())
    finally:
        reader.close()


def test_the_docs_show_the_accounts_the_tests_run() -> None:
    """docs/nats.md's configuration is the one these tests prove, word for word."""
    docs = (ROOT / "docs" / "nats.md").read_text()
    assert server.accounts("ENGINE_PASSWORD", "GATEWAY_PASSWORD", "comp1") in docs


async def test_a_gateway_takes_only_the_engines_sealed_answer(
    nats_server: server.LocalServer,
) -> None:
    """A subscriber to the commands subject without the key (a stolen engine
    credential) that answers first does not pass for the engine."""
    from gateway.upstream.engine_client import EngineUnavailable
    from gateway.upstream.remote import NatsEngineClient

    nats_log = NatsLog(nats_server.url, SESSION, key=TEST_KEY)
    impostor = await nats_log.run(_as(nats_server.url, None))

    async def answer(key: bytes) -> None:
        async def respond(msg: Any) -> None:
            data = encode(Reply(1, 99, []))
            mac = reply_mac(key, SESSION, (msg.headers or {}).get(MAC, ""), data)
            await impostor.publish(msg.reply, data, headers={MAC: mac})

        await impostor.subscribe(NAMES.commands_subject, cb=respond)
        await impostor.flush()

    client = NatsEngineClient(nats_log)
    try:
        await nats_log.run(answer(bytes(32)))
        with pytest.raises(EngineUnavailable, match="could not be verified"):
            await client.request(SetClock(running=False), timeout=10)
        await nats_log.run(impostor.close())
        impostor = await nats_log.run(_as(nats_server.url, None))
        await nats_log.run(answer(TEST_KEY))  # the key's holder: the engine's answer
        assert (await client.request(SetClock(running=False), timeout=10)).seq == 99
    finally:
        await nats_log.run(impostor.close())
        nats_log.close()
