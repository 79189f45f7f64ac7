"""MACs that make the session's NATS traffic the engine's and its gateways' alone.

Anyone who can reach a NATS server could otherwise publish on the session's subjects.
NATS permissions (docs/nats.md, "Accounts and permissions") keep them to their parts;
these MACs make a message that slipped past them (a misconfigured server, a stolen
gateway password) harmless: it is refused by name and skipped, never trusted.

- **Every stream message** carries ``Tradepit-Mac``: HMAC-SHA256 with the session key
  over the session, the message's *stream* seq, its first log seq, its count and its
  payload. The stream seq is known before the publish (the engine publishes with
  ``Nats-Expected-Last-Sequence``), and binding it means a genuine message copied to
  another place in the stream is refused too.
- **Every command** a gateway sends carries ``Tradepit-Mac`` and ``Tradepit-Ts``: an
  HMAC over the session, the time and the payload. The engine refuses a command whose
  MAC is wrong, whose time is more than ``COMMAND_WINDOW`` seconds from its own, or
  that it has seen already (a replay of a captured command), ``Replays``.
- **Every answer** carries ``Tradepit-Mac`` over the session, the request's MAC and the
  answer: a gateway takes the first answer to a request, so one from a subscriber that
  is not the engine (a stolen engine credential) must not pass for it.

HMAC, not a signature: the verifier of a record (a gateway) also holds the key, so a
gateway host could forge records; but a gateway host already holds every team's
commands, and NATS permissions forbid its credential from publishing the log at all.
HMAC-SHA256 is in the standard library; it reads every byte (0.18 s per million
records on the development machine), so a remote gateway checks it in its relay child.
The key is one per session, 32 random bytes in hex: the same file on the engine's
hosts and the gateways' (``--nats-key``), never the engine's per-start TCP secret,
because an engine that takes the session over on another host must verify the
stream its predecessor wrote.

Domain labels keep a record's MAC from ever passing as a command's. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict

MAC = "Tradepit-Mac"
TS = "Tradepit-Ts"
#: How far a command's time may be from the engine's clock (NTP-synced hosts).
COMMAND_WINDOW = 30.0
_RECORD = b"tradepit-record\0"
_COMMAND = b"tradepit-command\0"
_REPLY = b"tradepit-reply\0"


def record_mac(
    key: bytes, session: str, stream_seq: int, first: int, count: int, payload: bytes
) -> str:
    head = b"%s%s\0%d\0%d\0%d\0" % (_RECORD, session.encode(), stream_seq, first, count)
    return hmac.new(key, head + payload, hashlib.sha256).hexdigest()


def record_authentic(
    key: bytes,
    session: str,
    stream_seq: int,
    headers: dict[str, str] | None,
    first: int,
    count: int,
    payload: bytes,
) -> bool:
    """Did the holder of ``key`` publish this message at this stream seq?"""
    given = (headers or {}).get(MAC, "")
    expected = record_mac(key, session, stream_seq, first, count, payload)
    return hmac.compare_digest(given, expected)


def command_mac(key: bytes, session: str, ts_ns: int, payload: bytes) -> str:
    head = b"%s%s\0%d\0" % (_COMMAND, session.encode(), ts_ns)
    return hmac.new(key, head + payload, hashlib.sha256).hexdigest()


def reply_mac(key: bytes, session: str, request_mac: str, payload: bytes) -> str:
    """The engine's answer, bound to the request it answers (by that request's MAC)."""
    head = b"%s%s\0%s\0" % (_REPLY, session.encode(), request_mac.encode())
    return hmac.new(key, head + payload, hashlib.sha256).hexdigest()


def reply_authentic(
    key: bytes, session: str, request_mac: str, headers: dict[str, str] | None, payload: bytes
) -> bool:
    given = (headers or {}).get(MAC, "")
    return hmac.compare_digest(given, reply_mac(key, session, request_mac, payload))


def command_headers(key: bytes, session: str, ts_ns: int, payload: bytes) -> dict[str, str]:
    return {TS: str(ts_ns), MAC: command_mac(key, session, ts_ns, payload)}


class Replays:
    """The engine's check of a command's headers: MAC, time window, seen before."""

    def __init__(self, key: bytes, session: str, window: float = COMMAND_WINDOW) -> None:
        self.key = key
        self.session = session
        self.window_ns = int(window * 1e9)
        # MAC -> the command's time; only commands inside the window are remembered
        # (older ones fail the time check), so this holds at most a window's worth
        self._seen: OrderedDict[str, int] = OrderedDict()

    def check(self, headers: dict[str, str] | None, payload: bytes, now_ns: int) -> str | None:
        """``None`` for a command to take, else why it is refused."""
        headers = headers or {}
        try:
            ts_ns = int(headers.get(TS, ""))
        except ValueError:
            return "no Tradepit-Ts header"
        given = headers.get(MAC, "")
        if not hmac.compare_digest(given, command_mac(self.key, self.session, ts_ns, payload)):
            return "wrong or missing Tradepit-Mac (not the session's key)"
        if abs(now_ns - ts_ns) > self.window_ns:
            return f"sent {(now_ns - ts_ns) / 1e9:+.1f}s from the engine's clock"
        seen = self._seen
        while seen:  # forget what the time check refuses anyway
            oldest_mac, oldest_ts = next(iter(seen.items()))
            if now_ns - oldest_ts <= self.window_ns:
                break
            del seen[oldest_mac]
        if given in seen:
            return "a replay of a command already taken"
        seen[given] = ts_ns
        return None
