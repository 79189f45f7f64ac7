"""Orders over a team's own ``/ws``: requests in, one answer each, outside the seq'd stream.

A client message is one JSON text frame::

    {"type": "order", "request_id": "r1", "data": {...the body of POST /orders...}}

with ``type`` one of ``order`` (``POST /orders``), ``quote`` (``POST /quotes``),
``cancel`` (``DELETE /orders/{order_id}``, ``data: {"order_id": ...}``) and
``cancel_all`` (``DELETE /orders``, ``data: {"instrument_id": ...}`` or ``{}``) and
``lockstep_done`` (``POST /lockstep/done``, ``data: {"tick_number": N}``). Each is
validated and decided exactly as its REST call (the same validation, the same service
call, the same team budget), and answered with one ``response`` frame carrying the
client's ``request_id`` and the REST envelope's fields (``success``, ``order_id``,
``data``, ``error``, ``timestamp``) and ``stream_seq``. Acks, fills and cancels still
arrive as seq'd stream messages; the response has no ``seq``, so a bot that never sends
sees none. ``stream_seq`` is the team's stream head when the answer was made (the REST
answer's ``X-Stream-Seq``): a bot whose stream has applied it sees everything the
request caused, which a lockstep bot waits for (docs/backtest.md, Determinism).

Requests reach the engine in the order they arrive on the socket, and a bot can pipeline
them. Against the engine's own connection (``Gateway.batches``) the messages that
arrived together are one batch: each is begun in turn (validated, admitted by the
budget, queued to the engine client, which writes them in one write), then one task
waits for all their answers and the projection's fold of them, and writes the batch's
answers in one socket write, in the order asked. Under load that is one wake-up, one
deadline and one write for many requests where each cost its own (``./scripts/bench
wscalls``). Otherwise (a port that must be awaited: NATS, a replay) each request waits
until the one before it was handed to the port, then answers as soon as its own records
are applied. Either way answers of different reads may come back in another order. At most
``[gateway] max_writes_in_flight`` requests are under way per connection; beyond that the
socket is not read (back-pressure on the sender, not a refusal). A malformed message, an
unknown type or a body over ``[gateway] max_body_bytes`` is answered with an error and
closes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import trio

from engine.records import Command
from gateway.errors import ApiError
from gateway.projection.entities import TeamState
from gateway.projection.fold import Projection
from gateway.projection.messages import encode
from gateway.service import Gateway
from gateway.service.gateway import Pending
from gateway.web import validate
from gateway.web.envelope import envelope
from gateway.web.hypercorn_tuning import FRAMES

T = TypeVar("T")
Send = Callable[[dict[str, Any]], Awaitable[None]]
#: What a request's ``data`` may add to the REST body's limit: its envelope's own keys.
ENVELOPE_BYTES = 256


class ClientMessage(msgspec.Struct, forbid_unknown_fields=True):
    type: str
    request_id: validate.Id
    data: msgspec.Raw = msgspec.Raw(b"{}")


class CancelData(msgspec.Struct, forbid_unknown_fields=True):
    order_id: str


class CancelAllData(msgspec.Struct, forbid_unknown_fields=True):
    instrument_id: str | None = None


_decode = msgspec.json.Decoder(ClientMessage).decode


def response_frame(
    request_id: str | None,
    data: Any,
    *,
    order_id: str | None = None,
    error: ApiError | None = None,
    stream_seq: int | None = None,
) -> bytes:
    """The REST envelope's fields as a ``response`` message (no seq: not in the stream)."""
    return encode(
        {
            "type": "response",
            **envelope(data, request_id, order_id=order_id, error=error),
            "stream_seq": stream_seq,
        }
    )


def parse(raw: str | bytes, max_body_bytes: int) -> ClientMessage:
    if len(raw) > max_body_bytes + ENVELOPE_BYTES:
        raise ApiError(
            "PAYLOAD_TOO_LARGE", f"a request message is at most {max_body_bytes} bytes of data"
        )
    try:
        return _decode(raw)
    except msgspec.DecodeError as exc:
        if isinstance(exc, msgspec.ValidationError):
            raise ApiError("INVALID_REQUEST", f"invalid request message: {exc}") from None
        raise ApiError("INVALID_JSON", "a request message is one JSON object") from None


def _request_id_of(raw: str | bytes) -> str | None:
    """The client's id of a message refused before it was parsed whole, if it has one."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    rid = value.get("request_id") if isinstance(value, dict) else None
    return rid if isinstance(rid, str) and validate.request_id_header(rid) else None


class Requests:
    """One connection's order entry; ``receive`` is its reading loop."""

    def __init__(self, gw: Gateway, api_key: str, send: Send, framed: bool) -> None:
        self.gw = gw
        self.api_key = api_key
        self.send = send
        self.framed = framed  # the server takes many frames in one send (FRAMES)
        self._out: list[bytes] = []  # answers ready, not yet written
        self._writing = False  # a task is writing answers: it writes these too
        self.limit = max(gw.settings.max_writes_in_flight, 1)
        self.window = trio.Semaphore(self.limit)
        self.in_flight = 0  # batched: requests taken and not yet answered
        self._room = trio.Event()  # set: an answer made room under ``limit``
        self._handed: trio.Event | None = None  # set: the previous request reached the engine
        self.team_id = ""  # the key's team, once a request named it

    async def receive(self, receive: Any, nursery: trio.Nursery) -> None:
        """Read the client's messages until it disconnects, then cancel the connection."""
        if self.gw.batches:
            await self._receive_batches(receive, nursery)
            return
        while True:
            event = await receive()
            kind = event["type"]
            if kind == "websocket.disconnect":
                nursery.cancel_scope.cancel()
                return
            if kind != "websocket.receive":
                continue
            raw = event.get("text")
            if raw is None:
                raw = event.get("bytes") or b""
            await self.window.acquire()
            handed, self._handed = self._handed, trio.Event()
            nursery.start_soon(self._answer, raw, handed, self._handed)

    async def _receive_batches(self, receive: Any, nursery: trio.Nursery) -> None:
        """``receive`` for an engine port that queues without waiting (``Gateway.batches``):
        the messages already arrived are taken together and begun here, one after
        another, so they reach the engine in the order sent with no task or event per
        request to keep it; one task then waits for all their answers, and writes them
        in one socket write, in the order asked."""
        channel = getattr(receive, "__self__", None)
        take = channel.receive_nowait if isinstance(channel, trio.MemoryReceiveChannel) else None
        limit = self.limit
        while True:
            while self.in_flight >= limit:  # back-pressure: the socket is not read
                self._room = trio.Event()
                await self._room.wait()
            event = await receive()
            raws: list[str | bytes] = []
            gone = False
            while True:
                kind = event["type"]
                if kind == "websocket.disconnect":
                    gone = True
                    break
                if kind == "websocket.receive":
                    raw = event.get("text")
                    raws.append(raw if raw is not None else event.get("bytes") or b"")
                if take is None or self.in_flight + len(raws) >= limit:
                    break
                try:
                    event = take()
                except trio.WouldBlock:
                    break
            if raws:
                await self._begin(raws, nursery)
            if gone:
                nursery.cancel_scope.cancel()
                return

    async def _begin(self, raws: list[str | bytes], nursery: trio.Nursery) -> None:
        """Begin each request of a batch in order; its refusals are answered with it."""
        gw = self.gw
        answers: list[bytes | Begun] = []
        writes: list[Pending] = []
        for raw in raws:
            request_id: str | None = None
            try:
                message = parse(raw, gw.settings.max_body_bytes)
                request_id = message.request_id
                start, order_id = self._start(message)
            except ApiError as error:
                error = self._charged(error)
                answers.append(response_frame(request_id or _request_id_of(raw), None, error=error))
                continue
            try:
                write = start()
            except ApiError as error:
                answers.append(response_frame(request_id, None, error=error))
                continue
            writes.append(write)
            answers.append(Begun(request_id, write, order_id))
        if not writes:  # refusals alone: answered now
            await self._answered([a for a in answers if isinstance(a, bytes)])
            return
        self.in_flight += len(answers)
        nursery.start_soon(self._settle, answers, writes)

    async def _settle(self, answers: list[bytes | Begun], writes: list[Pending]) -> None:
        gw = self.gw
        try:
            await gw.settle(writes)
            # no await from here to the frames: the head covers the requests' records
            # (the whole round's frame of a lockstep session), as on the path below
            head = gw.streams.head(self.team_id)
            frames: list[bytes] = []
            traded = False
            for item in answers:
                if isinstance(item, bytes):
                    frames.append(item)
                    continue
                try:
                    data = gw.finish(item.write)
                except ApiError as error:
                    frames.append(response_frame(item.request_id, None, error=error))
                    continue
                kind = item.write.kind
                order_id = _answer_order_id(kind, data, item.order_id)
                if kind == "order":
                    traded = traded or bool(data["fills"])
                elif kind == "quote":
                    traded = traded or bool(data["bid"]["fills"] or data["ask"]["fills"])
                frames.append(
                    response_frame(item.request_id, data, order_id=order_id, stream_seq=head)
                )
            if traded:
                # as REST's fast path does: the counterparties' stream senders, woken by
                # these records, write first, so a maker hears of its fill no later than
                # the taker of its answer (without it, once the answers stopped yielding
                # before their write, bench e2e's ws_fill_report_p99 doubled)
                await trio.lowlevel.checkpoint()
            await self._answered(frames)
        finally:
            for write in writes:
                gw.abandon(write)  # only those never finished: the client went
            self.in_flight -= len(answers)
            self._room.set()

    def _start(self, message: ClientMessage) -> tuple[Callable[[], Pending], str | None]:
        """How to begin the write a message names, and the order id its answer names if
        not the engine's; the team checked now (a team disabled since the socket opened
        is refused as on REST). What raises here is charged as a malformed message."""
        gw = self.gw
        team = self._team()
        if message.type == "lockstep_done":
            tick = validate.lockstep_done(bytes(message.data))
            return lambda: gw.begin_done(team, tick), None
        command, order_id = _command(message, team.team_id, gw.projection)
        return lambda: gw.begin(team, message.type, command), order_id

    async def _answer(self, raw: str | bytes, before: trio.Event | None, mine: trio.Event) -> None:
        request_id: str | None = None
        try:
            if before is not None:
                await before.wait()
            try:
                message = parse(raw, self.gw.settings.max_body_bytes)
                request_id = message.request_id
                call = self._call(message)
            except ApiError as error:
                mine.set()
                await self._refuse(request_id or _request_id_of(raw), self._charged(error))
                return
            # the service's prefix up to the engine client's queue has no await: the next
            # request may start once this one is on its way, and not before
            mine.set()
            try:
                data, order_id = await call
            except ApiError as error:
                await self._refuse(request_id, error)
                return
            # the head now, with no await since the request's records were folded: the
            # whole round's frame, the same on every run of a lockstep session
            head = self.gw.streams.head(self.team_id)
            await self._answered(
                [response_frame(request_id, data, order_id=order_id, stream_seq=head)]
            )
        finally:
            mine.set()
            self.window.release()

    def _charged(self, error: ApiError) -> ApiError:
        """A message refused before the service saw it drains the team's budget as a
        refused REST body does (a flood costs its sender); past the budget, the 429."""
        try:
            team = self.gw.authenticate(self.api_key)
            with self.gw.budget.write(team.team_id, team.role):
                pass  # never marked useful: waste
        except ApiError as refusal:
            return refusal
        return error

    async def _refuse(self, request_id: str | None, error: ApiError) -> None:
        await self._answered([response_frame(request_id, None, error=error)])

    async def _answered(self, frames: list[bytes]) -> None:
        """Write ``frames``, with every answer made while the last write was under way: all
        those ready at once go in one socket write. Under load the answers of a burst of
        requests are ready together; one write each cost a third of the gateway's time.
        The task that made them writes them (a writer task of its own cost a wake-up
        between an answer and its write); one made during another's write is left to
        that task, which writes it next."""
        self._out.extend(frames)
        if self._writing:
            return
        self._writing = True
        try:
            while self._out:
                batch, self._out = self._out, []
                if self.framed:
                    await self.send({"type": FRAMES, "texts": batch})
                else:
                    for frame in batch:
                        await self.send({"type": "websocket.send", "text": frame.decode()})
        finally:
            self._writing = False

    def _call(self, message: ClientMessage) -> Awaitable[tuple[Any, str | None]]:
        """The service call a message names, its team checked now (a team disabled since
        the socket opened is refused as on REST)."""
        gw = self.gw
        team = self._team()
        if message.type == "lockstep_done":
            # a backtest's bot sends it each tick after its orders: on the socket they
            # went over, one frame where REST cost a request (issue 17's speed)
            return _no_order_id(gw.lockstep_done(team, validate.lockstep_done(bytes(message.data))))
        command, order_id = _command(message, team.team_id, gw.projection)
        return _written(message.type, gw.write(team, message.type, command), order_id)

    def _team(self) -> TeamState:
        team = self.gw.trader(self.api_key)
        self.team_id = team.team_id
        return team


class Begun:
    """A request of a batch handed to the engine: what its answer needs."""

    __slots__ = ("order_id", "request_id", "write")

    def __init__(self, request_id: str, write: Pending, order_id: str | None) -> None:
        self.request_id = request_id
        self.write = write
        self.order_id = order_id


def _unknown(kind: str) -> ApiError:
    return ApiError(
        "INVALID_REQUEST",
        f"unknown request type {kind[:32]!r}: order, quote, cancel, cancel_all or lockstep_done",
    )


def _data(body: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise ApiError("INVALID_REQUEST", f"invalid data: {exc}") from None


def _command(
    message: ClientMessage, team_id: str, p: Projection
) -> tuple[Callable[[], Command], str | None]:
    """The engine command a write message names, made when called (inside the team's
    budget, as on REST), and the order id its answer names if not the engine's."""
    body, kind = bytes(message.data), message.type
    if kind == "order":
        return lambda: validate.order(body, team_id, p.config, p), None
    if kind == "quote":
        return lambda: validate.quote(body, team_id, p.config, p), None
    if kind == "cancel":
        order_id = _data(body, CancelData).order_id
        return lambda: validate.cancel(team_id, order_id), order_id
    if kind == "cancel_all":
        instrument_id = _data(body, CancelAllData).instrument_id
        return lambda: validate.cancel_all(team_id, instrument_id, p), None
    raise _unknown(kind)


def _answer_order_id(kind: str, data: dict[str, Any], asked: str | None) -> str | None:
    """An answer's ``order_id``: an order's is the engine's; a cancel's the one asked."""
    return data.get("order_id") if kind == "order" else asked


async def _written(
    kind: str, call: Awaitable[dict[str, Any]], asked: str | None
) -> tuple[Any, str | None]:
    data = await call
    return data, _answer_order_id(kind, data, asked)


async def _no_order_id(call: Awaitable[dict[str, Any]]) -> tuple[Any, str | None]:
    return await call, None
