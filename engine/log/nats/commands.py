"""The engine's end of NATS request-reply: gateways' commands in, durable answers out.

A remote gateway has no engine address to dial: it sends ``engine.wire`` requests to
the session's commands subject, and whichever engine serves the session answers. So a
new engine started on another host after a failover is found with no configuration.
A request arrives on the asyncio thread and crosses to trio with
``TrioToken.run_sync_soon`` into ``offer``, which queues it or refuses it at once;
the answer crosses back with ``call_soon`` and is published to the request's inbox.

Every command carries the session key's proof (``seal``: an HMAC over the session, the
time and the payload, in headers ``Tradepit-Mac`` and ``Tradepit-Ts``), as a TCP
connection opens with ``Hello(secret)``: anything else, and a replay of a command
already taken, is answered ``UNAUTHORIZED`` and never reaches the inbox.

The alive subject answers "who serves this session": an engine starting on a live
session asks it first and refuses to start (see ``Engine.open``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable

import nats.errors
import trio
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from engine.log.nats.client import NatsLog
from engine.log.nats.seal import MAC, Replays, reply_mac
from engine.records import AnyRecord
from engine.wire import FrameError, Refused, Reply, Request, decode, encode

log = logging.getLogger("tradepit.nats")

Answer = Callable[[Reply | Refused], None]
#: ``offer(command, request_id, answer)``: queue the command or answer it now.
Offer = Callable[[AnyRecord, int, Answer], None]


def identity() -> dict[str, object]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def who_serves(nats_log: NatsLog, timeout: float = 1.0) -> dict[str, object] | None:
    """The live engine of the session, as it describes itself, or ``None``."""

    async def ask() -> bytes | None:
        try:
            msg = await nats_log.js.nc.request(nats_log.names.alive_subject, b"", timeout=timeout)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            return None
        return msg.data

    answer = nats_log.sync(ask())
    if answer is None:
        return None
    try:
        described = json.loads(answer)
    except ValueError:
        described = {"answer": answer.decode(errors="replace")}
    return described if isinstance(described, dict) else {"answer": described}


async def serve_commands(
    nats_log: NatsLog,
    offer: Offer,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Subscribe to the session's commands and alive subjects until cancelled."""
    token = trio.lowlevel.current_trio_token()
    nc = nats_log.js.nc
    me = json.dumps(identity()).encode()
    replays = Replays(nats_log.js.key, nats_log.names.session)

    key, session = nats_log.js.key, nats_log.names.session

    def publish(reply_to: str, request_mac: str, result: Reply | Refused) -> None:
        data = encode(result)
        headers = {MAC: reply_mac(key, session, request_mac, data)}
        # runs on the asyncio thread; a lost reply is the gateway's timeout, never a stall
        nats_log.bridge.call_soon(lambda: asyncio.ensure_future(_send(nc, reply_to, data, headers)))

    def take(data: bytes, reply_to: str, headers: dict[str, str] | None) -> None:
        # on the trio thread (one at a time, so ``replays`` needs no lock), never blocks
        why = replays.check(headers, data, time.time_ns())
        request_mac = (headers or {}).get(MAC, "")
        if why is not None:
            log.warning("refused a command over NATS: %s", why)
            if reply_to:
                refusal = Refused(0, "UNAUTHORIZED", f"command refused: {why}")
                publish(reply_to, request_mac, refusal)
            return
        try:
            message = decode(data)
        except FrameError as exc:
            log.warning("undecodable command over NATS: %s", exc)
            return
        if not isinstance(message, Request) or not reply_to:
            return
        offer(message.command, message.id, lambda result: publish(reply_to, request_mac, result))

    async def on_command(msg: Msg) -> None:
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(take, msg.data, msg.reply, msg.headers)

    async def on_alive(msg: Msg) -> None:
        with contextlib.suppress(nats.errors.Error):
            await msg.respond(me)

    async def subscribe() -> list[Subscription]:
        names = nats_log.names
        subs = [
            await nc.subscribe(names.commands_subject, cb=on_command, pending_msgs_limit=100_000),
            await nc.subscribe(names.alive_subject, cb=on_alive),
        ]
        await nc.flush()
        return subs

    subs = await nats_log.run(subscribe())
    task_status.started()
    try:
        await trio.sleep_forever()
    finally:
        for sub in subs:
            nats_log.bridge.submit(_unsubscribe(sub))


async def _send(nc: Client, subject: str, data: bytes, headers: dict[str, str]) -> None:
    with contextlib.suppress(nats.errors.Error):
        await nc.publish(subject, data, headers=headers)


async def _unsubscribe(sub: Subscription) -> None:
    with contextlib.suppress(nats.errors.Error):
        await sub.unsubscribe()
