"""A gateway on another host: records from the session's JetStream stream, commands to
the engine over NATS request-reply. No access to the engine's data directory.

Why request-reply and not the engine's TCP protocol: a remote gateway then needs no
engine address, only the NATS URL and the session's name; after a failover the new
engine (on any host) subscribes to the same subject and the gateways carry on. The
rule stays "answered only once durable": the engine replies after the local fsync
and JetStream's ack, and this gateway answers its caller only once it has folded the
reply's records from the stream (``Gateway.wait_applied``), as a local one does.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator

import nats.errors
import trio

from engine.log.errors import LogError
from engine.log.nats.client import NatsLog
from engine.log.nats.relay import Relay, RelayStopped
from engine.log.nats.seal import MAC, command_headers, reply_authentic
from engine.records import AnyRecord, Command
from engine.wire import FrameError, Refused, Reply, Request, decode, encode
from gateway.upstream.engine_client import EngineUnavailable

log = logging.getLogger("tradepit.gateway")
#: Relays started in a row, none of which delivered a message, before the gateway gives up.
RELAY_RESTARTS = 3


class StreamSource:
    """``RecordSource`` over the stream: an ordered consumer from the asked seq, read by a
    child process (``relay``) so that nats-py does not share the fold's GIL."""

    def __init__(self, nats_log: NatsLog, relay: Relay | None = None) -> None:
        self.log = nats_log
        self._head = 0
        self._relay = relay  # spawned early by the caller, or at the first follow

    def head(self) -> int:
        return self._head

    async def aclose(self) -> None:
        """Stop a relay that no follow took (the gateway stopped before following)."""
        relay, self._relay = self._relay, None
        if relay is not None:
            await relay.aclose()

    def nudge(self) -> None:
        pass  # JetStream pushes new messages; there is no poll to cut short

    def read(self, from_seq: int, to_seq: int) -> Iterator[AnyRecord]:
        # a consumer of its own, driven through the bridge from this (worker) thread
        yield from self.log.read(max(1, from_seq), to_seq)

    async def follow(self, from_seq: int) -> AsyncIterator[AnyRecord]:
        async for records in self.follow_batches(from_seq):
            for record in records:
                yield record

    async def follow_batches(self, from_seq: int) -> AsyncGenerator[list[AnyRecord], None]:
        """The records of each stream message, as one list."""
        relay, self._relay = self._relay, None
        url, session = self.log.url, self.log.names.session
        if relay is None:
            relay = await Relay.spawn(url, session, self.log.js.key, self.log.access)
        js = self.log.js
        try:
            while not await self.log.run(js.exists()):  # the engine may not have made it yet
                await trio.sleep(0.2)
            head = await self.log.run(js.head())
            if head.stream_seq and not head.log_seq:
                raise LogError(
                    f"stream {self.log.names.stream} holds {head.stream_seq} messages and none "
                    "is sealed with this session key: give the engine's (--nats-key)"
                )
            self._head = max(self._head, head.log_seq)
            next_seq, failures = max(1, from_seq), 0
            while True:
                try:
                    async with contextlib.aclosing(relay.follow(next_seq)) as batches:
                        async for records in batches:
                            failures = 0
                            next_seq = records[-1].seq + 1
                            self._head = max(self._head, records[-1].seq)
                            yield records
                except RelayStopped as exc:
                    # killed from outside: the stream is still there, so read on from it
                    failures += 1
                    if failures > RELAY_RESTARTS:
                        raise
                    log.warning("%s; another reads on from log seq %d", exc, next_seq)
                await relay.aclose()
                await trio.sleep(0.1 * failures)
                relay = await Relay.spawn(url, session, self.log.js.key, self.log.access)
        finally:
            await relay.aclose()


class NatsEngineClient:
    """The gateway's ``Engine``: one NATS request per command, answered when durable."""

    def __init__(self, nats_log: NatsLog) -> None:
        self.log = nats_log
        self._ids = itertools.count(1)

    async def request(self, command: Command, *, timeout: float = 10.0) -> Reply:
        payload = encode(Request(next(self._ids), command))  # type: ignore[arg-type]
        nc = self.log.js.nc
        subject = self.log.names.commands_subject
        # the proof the engine asks of every command (``seal``): no key, no command
        headers = command_headers(self.log.js.key, self.log.names.session, time.time_ns(), payload)
        try:
            msg = await self.log.run(nc.request(subject, payload, timeout=timeout, headers=headers))
        except nats.errors.NoRespondersError:
            raise EngineUnavailable("the engine is not reachable; retry shortly") from None
        except nats.errors.TimeoutError:
            raise EngineUnavailable(
                "the engine did not answer; the command may or may not have been sequenced: "
                "check GET /orders or GET /events",
            ) from None
        except nats.errors.Error as exc:
            raise EngineUnavailable(f"NATS: {exc or type(exc).__name__}; retry shortly") from None
        if not reply_authentic(
            self.log.js.key, self.log.names.session, headers[MAC], msg.headers, msg.data
        ):
            # the first answer came from a subscriber without the key: not the engine's
            log.error("an answer on NATS not sealed with the session key: refused")
            raise EngineUnavailable(
                "the engine's answer could not be verified; the command may or may not have "
                "been sequenced: check GET /orders or GET /events",
            )
        try:
            answer = decode(msg.data)
        except FrameError as exc:
            raise EngineUnavailable(f"undecodable answer from the engine: {exc}") from None
        if isinstance(answer, Refused) and answer.code == "UNAUTHORIZED":
            # this gateway's proof, not the bot's key: the bot retries, the operator fixes
            log.error("the engine refuses this gateway's commands: %s", answer.message)
            raise EngineUnavailable(
                "the engine refused this gateway (session key); retry on another gateway"
            )
        if isinstance(answer, Refused):
            raise EngineUnavailable(answer.message, answer.code, answer.retry_after)
        if not isinstance(answer, Reply):
            raise EngineUnavailable("the engine answered with a request")
        return answer
