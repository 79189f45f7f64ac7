"""The session's stream on JetStream, as coroutines for the asyncio thread (``bridge``).

Nothing here touches trio: ``NatsLog`` and the readers and writers call these through
the bridge. Errors leave as ``LogError`` (``Fenced``, ``StreamMismatch``) with the
stream and the seqs in the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api
from nats.js.client import JetStreamContext

from engine.log.errors import LogError
from engine.log.nats.access import NatsAccess, redact
from engine.log.nats.messages import (
    MSG_ID,
    Chunk,
    Fenced,
    Names,
    StreamMismatch,
    forged,
    sealed_span,
    span,
)

log = logging.getLogger("tradepit.nats")

#: JetStream's error code for a publish whose Nats-Expected-Last-Sequence is not the last.
WRONG_LAST_SEQUENCE = 10071
#: How long a publish is retried (a reconnect, a cluster electing a new stream leader).
PUBLISH_DEADLINE = 30.0
#: Unsealed messages walked over in a row before a reader concludes the key is wrong.
WALK = 10_000
#: Errors after which the same publish (same Nats-Msg-Id) is safely retried.
RETRIABLE = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    asyncio.TimeoutError,
)


@dataclass(frozen=True)
class Head:
    """The stream's last message and the last log seq it carries (0, 0 when empty)."""

    stream_seq: int
    log_seq: int
    first_stream_seq: int = 1


@dataclass(frozen=True)
class JsMessage:
    stream_seq: int
    headers: dict[str, str] | None
    payload: bytes


async def connect(url: str, name: str, access: NatsAccess | None = None) -> Client:
    """One connection to a NATS server or cluster (``URL[,URL...]``), reconnecting forever.

    ``access`` holds the credentials and TLS files; errors name the URL without them."""

    refused: list[Exception] = []  # credentials refused before we were ever connected
    stop = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        # nats-py 2.16 reports the server's refusal as a plain Error with its text
        denied = isinstance(exc, nats.errors.AuthorizationError | ssl.SSLError) or (
            "authorization violation" in str(exc).lower()
        )
        if denied and not nc.is_connected:
            refused.append(exc)  # retrying the same credentials cannot help: stop now
            stop.set()
            return
        log.warning("nats: %s", exc or type(exc).__name__)

    async def on_disconnect() -> None:
        log.warning("nats: disconnected; reconnecting")

    async def on_reconnect() -> None:
        log.info("nats: reconnected to %s", nc.connected_url.netloc if nc.connected_url else "?")

    servers = [u.strip() for u in url.split(",") if u.strip()]
    options = (access or NatsAccess()).connect_options()
    nc = Client()
    connecting = asyncio.ensure_future(
        nc.connect(
            servers=servers,
            name=name,
            connect_timeout=2,
            reconnect_time_wait=0.1,  # type: ignore[arg-type]
            max_reconnect_attempts=-1,
            error_cb=on_error,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
            **options,
        )
    )
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([connecting, stopped], timeout=10, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    try:
        if refused:
            raise refused[0]
        if not connecting.done():
            raise TimeoutError("no answer within 10s")
        connecting.result()
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        connecting.cancel()
        await nc.close()
        if refused:
            raise LogError(
                f"NATS at {redact(url)} refused this client ({exc}): check --nats-creds "
                "and the TLS files"
            ) from None
        raise LogError(f"cannot reach NATS at {redact(url)}: {exc or type(exc).__name__}") from None
    return nc


class JetStream:
    """One connection and one session's stream, sealed with the session's ``key``."""

    def __init__(self, nc: Client, names: Names, key: bytes) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream(timeout=5.0)
        self.names = names
        self.key = key

    def sealed(self, m: JsMessage) -> tuple[int, int] | None:
        """(first log seq, count) of a message of ours; ``None`` (and a warning) if not."""
        found = sealed_span(self.key, self.names.session, m.stream_seq, m.headers, m.payload)
        if found is None:
            log.warning("%s", forged(self.names.stream, m.stream_seq))
        return found

    async def sealed_at_or_below(self, stream_seq: int, floor: int) -> tuple[int, int, int] | None:
        """(stream seq, first, count) of the last sealed message in floor..stream_seq."""
        seq = stream_seq
        while seq >= floor:
            if stream_seq - seq >= WALK:
                raise LogError(
                    f"stream {self.names.stream}: messages {seq}..{stream_seq} are not sealed "
                    "with this session key: the wrong --nats-key, or not this session's stream"
                )
            try:
                m = await self.message(seq)
            except nats.js.errors.NotFoundError:
                m = None
            found = self.sealed(m) if m is not None else None
            if found is not None:
                return seq, found[0], found[1]
            seq -= 1
        return None

    @property
    def max_payload(self) -> int:
        return self.nc.max_payload

    async def close(self) -> None:
        await self.nc.close()

    async def create_stream(self, replicas: int) -> None:
        """Create the session's stream if missing: file storage, nothing ever removed."""
        config = api.StreamConfig(
            name=self.names.stream,
            subjects=[self.names.log_subject],
            retention=api.RetentionPolicy.LIMITS,
            discard=api.DiscardPolicy.NEW,  # full: refuse the append, never drop history
            max_msgs=-1,
            max_bytes=-1,
            max_age=0,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=120.0,
            deny_delete=True,
            deny_purge=True,
            allow_direct=True,
        )
        try:
            await self.js.stream_info(self.names.stream)
            return
        except nats.js.errors.NotFoundError:
            pass
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PUBLISH_DEADLINE
        while True:  # a cluster that just started may still be electing its meta leader
            try:
                await self.js.add_stream(config)
                break
            except RETRIABLE as exc:
                if loop.time() > deadline:
                    raise LogError(f"cannot create stream {self.names.stream}: {exc}") from None
                await asyncio.sleep(0.1)
            except nats.js.errors.APIError as exc:
                raise LogError(f"cannot create stream {self.names.stream}: {exc}") from None
        log.info("created stream %s (replicas %d)", self.names.stream, replicas)

    async def exists(self) -> bool:
        try:
            await self.js.stream_info(self.names.stream)
        except nats.js.errors.NotFoundError:
            return False
        return True

    async def head(self) -> Head:
        try:
            info = await self.js.stream_info(self.names.stream)
        except nats.js.errors.NotFoundError:
            raise LogError(f"no stream {self.names.stream} on NATS") from None
        state = info.state
        if state.last_seq == 0 or state.messages == 0:
            return Head(0, 0, state.first_seq or 1)
        # the stream's last message may be a forgery: the log ends at the last sealed one
        last = await self.sealed_at_or_below(state.last_seq, state.first_seq)
        log_seq = 0 if last is None else last[1] + last[2] - 1
        return Head(state.last_seq, log_seq, state.first_seq)

    async def message(self, stream_seq: int) -> JsMessage:
        raw = await self.js.get_msg(self.names.stream, seq=stream_seq)
        return JsMessage(stream_seq, dict(raw.headers or {}), raw.data or b"")

    async def locate(self, log_seq: int) -> tuple[int, Head]:
        """The stream seq of the message holding ``log_seq`` (binary search on headers)."""
        head = await self.head()
        if head.first_stream_seq > 1:
            raise StreamMismatch(
                f"stream {self.names.stream} starts at message {head.first_stream_seq}: "
                "earlier records were removed (limits or a purge); refusing to read a gap"
            )
        if log_seq <= 1 or head.stream_seq == 0:
            return 1, head
        if log_seq > head.log_seq:
            return head.stream_seq + 1, head
        # the first log seq of the last sealed message at or below a stream seq only
        # grows with it, so a binary search on it steps over forged messages
        lo, hi = 1, head.stream_seq
        while lo < hi:
            mid = (lo + hi + 1) // 2
            found = await self.sealed_at_or_below(mid, lo)
            if found is None or found[1] <= log_seq:
                lo = mid
            else:
                hi = mid - 1
        found = await self.sealed_at_or_below(lo, 1)
        return (1 if found is None else found[0]), head

    async def publish(self, chunk: Chunk, expected_last: int) -> int:
        """Store one message after stream seq ``expected_last``; its stream seq.

        Retried with the same ``Nats-Msg-Id`` until acknowledged, so a lost ack (a
        reconnect, a leader change) neither skips nor duplicates it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PUBLISH_DEADLINE
        while True:
            headers = chunk.headers(self.names.session, expected_last, self.key)
            try:
                ack = await self.js.publish(
                    self.names.log_subject, chunk.payload, timeout=2.0, headers=dict(headers)
                )
                break
            except RETRIABLE as exc:
                if loop.time() > deadline:
                    raise LogError(
                        f"JetStream did not acknowledge log seqs {chunk.first}..{chunk.last} "
                        f"within {PUBLISH_DEADLINE:.0f}s ({exc or type(exc).__name__})"
                    ) from None
                await asyncio.sleep(0.05)
            except nats.js.errors.APIError as exc:
                if exc.err_code == WRONG_LAST_SEQUENCE and await self._stored(chunk, expected_last):
                    return expected_last + 1  # an earlier try was stored; its ack was lost
                if exc.err_code == WRONG_LAST_SEQUENCE:
                    after = await self._forged_after(expected_last)
                    if after is not None and loop.time() < deadline:
                        expected_last = after  # only forgeries took those seqs: step past
                        continue
                    raise Fenced(
                        f"stream {self.names.stream} refused log seqs {chunk.first}..{chunk.last} "
                        f"after stream message {expected_last}: another engine appended "
                        f"({exc.description})"
                    ) from None
                raise LogError(f"JetStream refused log seq {chunk.first}: {exc}") from None
        if ack.seq != expected_last + 1:
            raise StreamMismatch(
                f"stream {self.names.stream} stored log seqs {chunk.first}..{chunk.last} as "
                f"message {ack.seq} where message {expected_last + 1} was due"
            )
        return ack.seq

    async def _forged_after(self, expected_last: int) -> int | None:
        """The stream's last seq if every message after ``expected_last`` is unsealed.

        A message that someone without the key slipped into the stream takes a stream
        seq, so the engine's next publish meets "wrong last sequence". That is no other
        engine (whose messages are sealed, and would fence this one): the engine steps
        past it and publishes again, sealed for the new place. ``None``: a sealed
        message is there, another engine's; this one is fenced.
        """
        info = await self.js.stream_info(self.names.stream)
        last = info.state.last_seq
        if last <= expected_last or last - expected_last > WALK:
            return None
        if await self.sealed_at_or_below(last, expected_last + 1) is not None:
            return None
        return last

    async def _stored(self, chunk: Chunk, expected_last: int) -> bool:
        """Is the message after ``expected_last`` this very chunk?

        A server killed between storing a message and acking it may come back without
        its dedupe state, so the retry meets "wrong last sequence" instead of
        "duplicate": the stored message itself says whether it was ours.
        """
        try:
            there = await self.message(expected_last + 1)
        except nats.js.errors.NotFoundError:
            return False
        headers = there.headers or {}
        ours = chunk.headers(self.names.session, expected_last, self.key)[MSG_ID]
        return (
            headers.get(MSG_ID) == ours
            and span(headers, there.stream_seq) == (chunk.first, chunk.count)
            and there.payload == chunk.payload
        )

    async def subscribe(self, from_stream_seq: int) -> Any:
        """An ordered consumer (ephemeral, flow-controlled, gap-free) from a stream seq."""
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(1, from_stream_seq),
        )
        return await self.js.subscribe(
            self.names.log_subject,
            stream=self.names.stream,
            ordered_consumer=True,
            config=config,
            idle_heartbeat=2.0,
        )

    async def take(self, sub: Any, limit: int, timeout: float) -> list[JsMessage]:
        """The messages waiting on ``sub`` (at least one, unless ``timeout`` passes)."""
        try:
            first: Msg = await sub.next_msg(timeout=timeout)
        except nats.errors.TimeoutError:
            return []
        out = [first]
        # what nats-py already holds for us, handed over as next_msg does (its pending
        # bytes and the queue's task count: nats-py 2.16.0, pinned) but without the task,
        # uuid and timer next_msg makes per message: a catch-up takes 12,000 of them
        queue = sub._pending_queue
        while len(out) < limit and not queue.empty():
            msg = queue.get_nowait()
            sub._pending_size -= len(msg.data)
            queue.task_done()
            out.append(msg)
        return [JsMessage(m.metadata.sequence.stream, m.headers, m.data) for m in out]

    async def unsubscribe(self, sub: Any) -> None:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()
