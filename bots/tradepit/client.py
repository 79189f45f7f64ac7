"""Typed REST calls. Writes are retried safely; every refusal is an ``ApiError``.

Order entry gives every order a ``client_order_id`` and reuses it on each retry. The
server treats a repeated id of a *resting* order as a duplicate, but an order that
filled at once frees its id, so after an answer that was lost (a timeout, a dropped
connection, a 503 that says the engine did not answer) the client first looks for the
order's ack in ``GET /events`` after the seq it had before sending; only when the ack
is absent does it send again. A timeout therefore never places an order twice.

``Client(..., orders="ws")`` sends orders, quotes and cancels over a WebSocket of their
own (``tradepit.wsorders``): one frame each way instead of an HTTP request. While that
socket cannot be opened, each call falls back to REST and the socket is tried again a
second later; a socket lost with a request under way is resolved as a lost HTTP answer.

On a lockstep session (``lockstep()``) an answer that changed the book is returned only
once the running ``Stream`` has applied what the answer reflects (``tradepit.applied``):
the state a bot reads right after it is the same on every run. Live, nothing waits.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import websockets

from tradepit import models
from tradepit.applied import Applied
from tradepit.errors import (
    ApiError,
    KeyFromAnotherSession,
    RateLimited,
    TransportError,
    Unauthorized,
    Unavailable,
    Unreachable,
    api_error,
)
from tradepit.ratelimit import ROLE_RATES, TokenBucket
from tradepit.wsorders import OrderSocket, SocketLost

T = TypeVar("T")

#: A lost answer on these is ambiguous: the request may have reached the engine.
_AMBIGUOUS = (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, SocketLost)
#: How long order entry stays on REST after the order socket could not be opened.
WS_RETRY_SECONDS = 1.0
#: A request over the socket: its type and data (docs/protocol.md, "Orders over the WebSocket")
WsRequest = tuple[str, dict[str, Any]]
#: ``GET /events?after_seq=`` past any stream's end: no messages, only ``last_seq``, the head
PAST_THE_END = 2**62
#: An answer, and the team's stream seq it reflects when the server said (``X-Stream-Seq``)
Answer = tuple[T, int | None]


class Client:
    """Typed REST calls to one tradepit server, as one team once it has a key.

    Reads and safe writes are retried while the server is unreachable or restarting, for
    up to ``retry_for`` seconds; a server that never answered is reported after
    ``first_contact`` seconds instead (``Unreachable``). Orders are paced by a token
    bucket at the role's rate and never placed twice (see the module's docstring).
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        role: str | None = None,
        team_id: str | None = None,
        timeout: float = 10.0,
        retry_for: float = 60.0,
        first_contact: float = 5.0,
        orders_per_second: float | None = None,
        orders: str = "rest",
        ws_url: str | None = None,
        order_id_prefix: str | None = None,
    ) -> None:
        """``orders="ws"`` sends order entry over a WebSocket of its own; ``timeout`` is
        one request's; ``orders_per_second`` overrides the role's rate (another config)."""
        if orders not in ("rest", "ws"):
            raise ValueError("orders is 'rest' or 'ws'")
        self.url = url.rstrip("/")
        self._ws_url = ws_url
        self.api_key = api_key
        self.role = role
        self.team_id = team_id
        self.retry_for = retry_for
        self.first_contact = first_contact
        #: whether the server ever answered this client (until then, failing fast is kinder)
        self.answered = False
        # a blackholed address would otherwise hold a connect for the whole ``timeout``
        connect = min(timeout, first_contact)
        self._http = httpx.AsyncClient(
            base_url=self.url, timeout=httpx.Timeout(timeout, connect=connect)
        )
        self._started = 0.0  # when the first request was tried (the loop's clock)
        # random, so two runs with one key never mistake each other's orders; a backtest
        # names its own, so that the same bot writes the same log
        self._prefix = order_id_prefix or secrets.token_hex(4)
        self._ids = itertools.count(1)
        self._rate = orders_per_second
        self.bucket = TokenBucket(orders_per_second or ROLE_RATES.get(role or "", 1))
        #: the seq of the newest message of our stream we know of (the stream keeps it)
        self.known_seq = 0
        self.retries = 0
        self.rate_limited = 0  # RATE_LIMIT_EXCEEDED answers: the bucket should keep this 0
        self.order_entry = orders  # "rest" or "ws" (the method orders() lists open orders)
        self._socket: OrderSocket | None = None
        self._ws_retry_at = 0.0
        self.ws_fallbacks = 0  # calls sent over REST because the order socket would not open
        self.session_time = 0.0  # lockstep: the session's clock (``lockstep``)
        #: lockstep: an answer waits for the stream to show it (the module's docstring)
        self.read_your_writes = False
        #: the running ``Stream``'s progress (it sets this): what those answers wait for
        self.applied: Applied | None = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections and the order socket."""
        if self._socket is not None:
            await self._socket.aclose()
        await self._http.aclose()

    @property
    def ws_url(self) -> str:
        """The stream's URL: ``ws://HOST:PORT/ws`` for ``http://HOST:PORT`` (or the one given)."""
        return self._ws_url or "ws" + self.url.removeprefix("http") + "/ws"

    # ---- the transport ---------------------------------------------------------------

    async def _send(self, method: str, path: str, kind: type[T], **kw: Any) -> T:
        return (await self._http_answer(method, path, kind, **kw))[0]

    async def _http_answer(self, method: str, path: str, kind: type[T], **kw: Any) -> Answer[T]:
        headers = {"X-API-Key": self.api_key} if self.api_key else {}
        if not self._started:
            self._started = asyncio.get_running_loop().time()
        r = await self._http.request(method, path, headers=headers, **kw)
        self.answered = True
        return _unwrap(r.content, kind, r.status_code), _stream_seq(r.headers.get("x-stream-seq"))

    def check_reachable(self, exc: BaseException) -> None:
        """Raise ``Unreachable`` if the server never answered within ``first_contact``."""
        if self.answered or not self._started:
            return
        if asyncio.get_running_loop().time() - self._started >= self.first_contact:
            cause = str(exc) or type(exc).__name__
            raise Unreachable(
                f"cannot reach a tradepit server at {self.url} ({cause}):"
                " is it running, and is the URL right?"
            ) from exc

    async def _entry(
        self, method: str, path: str, kind: type[T], ws: WsRequest | None, **kw: Any
    ) -> Answer[T]:
        """An order-entry call: over the order socket when asked for and it opens."""
        loop = asyncio.get_running_loop()
        if ws is not None and self.order_entry == "ws" and self.api_key:
            if self._socket is None:
                self._socket = OrderSocket(self.ws_url, self.api_key)
            if loop.time() < self._ws_retry_at:
                self.ws_fallbacks += 1
            else:
                try:
                    raw = await self._socket.request(*ws)
                    return _unwrap(raw, kind, 0), _frame_stream_seq(raw)  # 0: no HTTP
                except (OSError, TimeoutError, websockets.exceptions.InvalidHandshake):
                    # nothing was sent: this call goes over REST, the socket is tried later
                    self._ws_retry_at = loop.time() + WS_RETRY_SECONDS
                    self.ws_fallbacks += 1
                except SocketLost:
                    # sent, maybe placed: the caller resolves it; its next try is over REST
                    self._ws_retry_at = loop.time() + WS_RETRY_SECONDS
                    raise
        return await self._http_answer(method, path, kind, **kw)

    async def _read(self, path: str, kind: type[T], **kw: Any) -> T:
        """A read: retried while the server is unreachable or unavailable."""
        return (await self._retrying("GET", path, kind, **kw))[0]

    async def _write(
        self,
        method: str,
        path: str,
        kind: type[T],
        body: Any | None,
        ws: WsRequest | None = None,
        *,
        book: bool = False,
    ) -> T:
        """A write that is safe to repeat (quotes replace, cancels are idempotent);
        ``book``: it changes the book, so a lockstep answer waits for the stream."""
        data, stream_seq = await self._retrying(method, path, kind, ws=ws, json=body)
        if book:
            await self._caught_up(stream_seq)
        return data

    async def _caught_up(self, stream_seq: int | None) -> None:
        """Lockstep: until the running stream has applied ``stream_seq`` (bounded)."""
        if self.read_your_writes and stream_seq is not None and self.applied is not None:
            await self.applied.reach(stream_seq)

    async def _retrying(
        self, method: str, path: str, kind: type[T], ws: WsRequest | None = None, **kw: Any
    ) -> Answer[T]:
        deadline = asyncio.get_running_loop().time() + self.retry_for
        delay = 0.05
        while True:
            try:
                return await self._entry(method, path, kind, ws, **kw)
            except (httpx.TransportError, Unavailable, SocketLost) as exc:
                self.check_reachable(exc)
                if asyncio.get_running_loop().time() > deadline:
                    raise TransportError(f"{method} {path}: {exc!r}") from exc
                self.retries += 1
                await asyncio.sleep(_wait(exc, delay))
                delay = min(delay * 2, 1.0)

    # ---- teams -----------------------------------------------------------------------

    async def register(self, team_name: str, role: str) -> models.Registration:
        """Register a new team; the client then acts as it (its key, role and rate)."""
        reg = await self._write(
            "POST",
            "/game/teams/register",
            models.Registration,
            {"team_name": team_name, "role": role},
        )
        self.api_key, self.role, self.team_id = reg.api_key, reg.role, reg.team_id
        if self._rate is None:
            self.bucket = TokenBucket(ROLE_RATES.get(reg.role, 1))
        return reg

    async def load_or_register(self, key_file: Path, team_name: str, role: str) -> None:
        """The key saved by an earlier run, or a new registration saved there (mode 0600).

        A saved key the server does not know (it was registered on another session)
        raises ``KeyFromAnotherSession``, naming the file to delete."""
        saved = _load_key(key_file)
        loaded = saved is not None
        if saved is None:
            saved = await self.register(team_name, role)
            _save_key(key_file, saved)
        self.api_key, self.role, self.team_id = saved.api_key, saved.role, saved.team_id
        if loaded:  # one cheap authenticated read: is the key this session's?
            try:
                await self.positions()
            except Unauthorized as exc:
                raise KeyFromAnotherSession(
                    f"{key_file} holds the key of team {saved.team_id} ({saved.team_name}),"
                    f" which {self.url} does not know: it belongs to another session."
                    f" Delete {key_file} to register anew, or use another key file."
                ) from exc
        if self._rate is None:
            self.bucket = TokenBucket(ROLE_RATES.get(saved.role, 1))

    # ---- orders ----------------------------------------------------------------------

    def new_client_order_id(self) -> str:
        """A client order id unique to this process: a random prefix and a counter."""
        return f"{self._prefix}-{next(self._ids)}"

    async def place_order(
        self,
        instrument_id: str,
        side: str,
        quantity: int,
        price: float | None = None,
        *,
        order_type: str | None = None,
        client_order_id: str | None = None,
    ) -> models.OrderResult:
        """Place an order (limit with a price, else market); never twice, whatever fails."""
        coid = client_order_id or self.new_client_order_id()
        body: dict[str, Any] = {
            "instrument_id": instrument_id,
            "side": side,
            "quantity": quantity,
            "client_order_id": coid,
        }
        if price is not None:
            body["price"] = round(price, 2)
        if order_type is not None:
            body["order_type"] = order_type
        deadline = asyncio.get_running_loop().time() + self.retry_for
        delay, before = 0.05, self.known_seq
        while True:
            await self.bucket.take()
            try:
                result, stream_seq = await self._entry(
                    "POST", "/orders", models.OrderResult, ("order", body), json=body
                )
                await self._caught_up(stream_seq)
                return result
            except RateLimited as exc:
                self.rate_limited += 1
                self.bucket.hold(exc.retry_after or 0.1)
                continue
            except (*_AMBIGUOUS, Unavailable) as exc:
                found = await self._find_order(coid, before)
                if found is not None:  # rare, and too late for a round: the stream follows
                    return found
                if asyncio.get_running_loop().time() > deadline:
                    raise TransportError(f"order {coid}: {exc!r}") from exc
                self.retries += 1
                await asyncio.sleep(_wait(exc, delay))
                delay = min(delay * 2, 1.0)
            except httpx.TransportError as exc:  # never reached the server: resend
                self.check_reachable(exc)
                if asyncio.get_running_loop().time() > deadline:
                    raise TransportError(f"order {coid}: {exc!r}") from exc
                self.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _find_order(self, coid: str, after_seq: int) -> models.OrderResult | None:
        """The order with this client id if the stream acked it after ``after_seq``."""
        try:
            messages = [m async for m in self.events_from(after_seq)]
        except (httpx.TransportError, ApiError):
            return None  # cannot tell yet: the caller waits and asks again
        ack = next(
            (m["data"] for m in messages
             if m["type"] == "new_order_ack" and m["data"]["client_order_id"] == coid),
            None,
        )  # fmt: skip
        if ack is None:
            return None
        fills = [
            m["data"] for m in messages
            if m["type"] == "execution_report" and m["data"]["order_id"] == ack["order_id"]
        ]  # fmt: skip
        filled = sum(f["executed_quantity"] for f in fills)
        return models.OrderResult(
            order_id=ack["order_id"],
            client_order_id=coid,
            instrument_id=ack["instrument_id"],
            side=ack["side"],
            order_type=ack["order_type"],
            quantity=ack["quantity"],
            price=ack["price"],
            status="filled" if filled == ack["quantity"] else "new",
            filled_quantity=filled,
            remaining_quantity=ack["quantity"] - filled,
            fills=[
                models.Fill(
                    f["trade_id"],
                    f["executed_price"],
                    f["executed_quantity"],
                    f["liquidity_type"],
                    f["fees"],
                    f.get("self_trade", False),
                )
                for f in fills
            ],
            duplicate=True,
        )

    async def quote(
        self, instrument_id: str, bid_price: float, bid_size: int, ask_price: float, ask_size: int
    ) -> models.QuoteResult:
        """Replace this instrument's two-sided quote (market makers); safe to repeat."""
        body = {
            "instrument_id": instrument_id,
            "bid_price": round(bid_price, 2),
            "bid_size": bid_size,
            "ask_price": round(ask_price, 2),
            "ask_size": ask_size,
        }
        while True:
            await self.bucket.take()
            try:
                return await self._write(
                    "POST", "/quotes", models.QuoteResult, body, ("quote", body), book=True
                )
            except RateLimited as exc:
                self.rate_limited += 1
                self.bucket.hold(exc.retry_after or 0.1)

    async def cancel(self, order_id: str) -> models.Cancelled:
        """Cancel one order; cancelling one already gone raises ``NotFound``."""
        ws = ("cancel", {"order_id": order_id})
        return await self._write(
            "DELETE", f"/orders/{order_id}", models.Cancelled, None, ws, book=True
        )

    async def cancel_all(self, instrument_id: str | None = None) -> models.CancelledAll:
        """Cancel every open order of the team, or of one instrument."""
        path = "/orders" + (f"?instrument_id={instrument_id}" if instrument_id else "")
        ws = ("cancel_all", {"instrument_id": instrument_id} if instrument_id else {})
        return await self._write("DELETE", path, models.CancelledAll, None, ws, book=True)

    # ---- reads -----------------------------------------------------------------------

    async def orders(self) -> list[models.OpenOrder]:
        """The team's open orders (``GET /orders``)."""
        return (await self._read("/orders", models.OpenOrders)).orders

    async def positions(self) -> models.Positions:
        """The team's positions, cash, fees and P&L (``GET /positions``)."""
        return await self._read("/positions", models.Positions)

    async def orderbook(self, instrument_id: str) -> models.OrderBook:
        """The top 5 levels a side, with last, mark and fair value (no key needed)."""
        return await self._read(f"/orderbook/{instrument_id}", models.OrderBook)

    async def instruments(self) -> models.Instruments:
        """Every tradable instrument with its mark, and the options' expiry."""
        return await self._read("/instruments", models.Instruments)

    async def leaderboard(self) -> models.Leaderboard:
        """The standings per role (``GET /leaderboard``)."""
        return await self._read("/leaderboard", models.Leaderboard)

    async def score(self, team_id: str | None = None) -> models.Score:
        """The team's row of the standings with its per-tick series."""
        return await self._read(f"/teams/{team_id or self.team_id}/score", models.Score)

    async def health(self) -> models.Health:
        """The server's state: phase, tick, applied seq, session (no key needed)."""
        return await self._read("/health", models.Health)

    async def use_key(self, api_key: str) -> None:
        """Trade with a key given to us (``TRADEPIT_API_KEY``): learn the team it names."""
        self.api_key = api_key
        team_id = (await self.positions()).team_id
        team = await self._read(f"/game/teams/{team_id}", models.Team)
        self.team_id, self.role = team.team_id, team.role
        if self._rate is None:
            self.bucket = TokenBucket(ROLE_RATES.get(team.role, 1))

    def lockstep(self) -> None:
        """A lockstep session: the rate is counted on the session's clock, which the bot
        moves on (``session_time``, seconds) at each tick, and is never waited for; an
        answer that changed the book waits for the running stream to show it."""
        self.session_time = 0.0
        self.read_your_writes = True
        rate = self._rate or ROLE_RATES.get(self.role or "", 1)
        self.bucket = TokenBucket(rate, margin=0.0, now=lambda: self.session_time, wait=False)

    async def lockstep_done(self, tick_number: int) -> models.LockstepDone:
        """Tell a lockstep session this bot is done with ``tick_number`` (docs/backtest.md)."""
        body = {"tick_number": tick_number}
        ws = ("lockstep_done", body)  # with orders="ws", on the socket the orders took
        return await self._write("POST", "/lockstep/done", models.LockstepDone, body, ws)

    async def events(self, after_seq: int = 0, limit: int = 2000) -> models.EventsPage:
        """One page of the team's stream after ``after_seq``, with the stream's head."""
        params = {"after_seq": after_seq, "limit": limit}
        return await self._send("GET", "/events", models.EventsPage, params=params)

    async def head(self) -> int:
        """The seq of the newest message of the team's stream (an empty page's ``last_seq``)."""
        return (await self.events(PAST_THE_END, 1)).last_seq

    async def events_from(self, after_seq: int) -> Any:
        """Every message after ``after_seq`` up to the stream's newest, page by page."""
        while True:
            page = await self.events(after_seq)
            for m in page.messages:
                yield m
                after_seq = m["seq"]
            if not page.messages or after_seq >= page.last_seq:
                return


def _unwrap(content: bytes, kind: type[T], status: int) -> T:
    env = msgspec.json.decode(content, type=models.Envelope[kind])  # type: ignore[valid-type]
    if env.success and env.data is not None:
        return env.data
    err = env.error or models.ErrorBody("INTERNAL_ERROR", content[:200].decode(errors="replace"))
    raise api_error(err.code, err.message, err.details or {}, status)


class _StreamSeq(msgspec.Struct):
    stream_seq: int | None = None


def _stream_seq(header: str | None) -> int | None:
    return int(header) if header and header.isdigit() else None


def _frame_stream_seq(raw: bytes) -> int | None:
    """A response frame's ``stream_seq`` (none from a server older than it)."""
    try:
        return msgspec.json.decode(raw, type=_StreamSeq).stream_seq
    except msgspec.DecodeError:
        return None


def _load_key(path: Path) -> models.Registration | None:
    if not path.exists():
        return None
    return msgspec.json.decode(path.read_bytes(), type=models.Registration)


def _save_key(path: Path, reg: models.Registration) -> None:
    path.touch(mode=0o600)
    path.write_bytes(msgspec.json.encode(reg))


def _wait(exc: BaseException, delay: float) -> float:
    if isinstance(exc, ApiError) and exc.retry_after is not None:
        return max(exc.retry_after, 0.01)
    return delay
