"""A whole, simple ``POST /orders`` read and answered without h11's state machine.

h11 spent ~250 Python calls on each order (``./scripts/bench calls``): events,
per-header validation, state transitions on both sides. ``simple_post`` accepts only
the plainest request, a complete one in a single read: ``POST`` to one of the given
paths, HTTP/1.1, one Host, one Content-Length whose body is exactly the rest of the
read, every header a token name and visible-ASCII value, and none of the headers that
change framing or the connection (Transfer-Encoding, Expect, Upgrade, Connection, TE,
HTTP2-Settings). Anything else, pipelined requests and partial reads included, returns
None and goes to h11 untouched, which answers it as before. ``Answer`` frames the
response the way h11 writes it (tests/gateway/test_h11_fast.py compares the bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Headers whose presence sends the request to h11: they change framing or the connection.
_H11_ONLY = frozenset(
    (b"transfer-encoding", b"expect", b"upgrade", b"connection", b"te", b"http2-settings")
)
_REQUEST_LINE = re.compile(rb"POST (/[!-~]*) HTTP/1\.1")
# RFC 9110 5.1 token name; a value of visible ASCII with inner spaces or tabs (no
# obs-text, no obs-fold: h11 judges those), surrounding whitespace dropped as h11 does
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*((?:[!-~](?:[ \t!-~]*[!-~])?)?)[ \t]*")
_MAX_LENGTH_DIGITS = 15
#: The paths of ``gateway.web.fastpath`` (a test holds them equal); their answers always
#: carry a Content-Length.
PATHS = frozenset((b"/orders", b"/exchange/orders"))


@dataclass(slots=True)
class SimplePost:
    target: bytes
    headers: list[tuple[bytes, bytes]]  # names lowercased, as h11 hands them on
    body: bytes


def simple_post(data: bytes, paths: frozenset[bytes], max_head: int) -> SimplePost | None:
    """The request in ``data`` if it is a whole simple POST to ``paths``, else None."""
    if not data.startswith(b"POST "):
        return None
    end = data.find(b"\r\n\r\n")
    if end < 0 or end > max_head:
        return None
    lines = data[:end].split(b"\r\n")
    line = _REQUEST_LINE.fullmatch(lines[0])
    if line is None or line.group(1) not in paths:
        return None
    headers: list[tuple[bytes, bytes]] = []
    length = -1
    hosts = 0
    for raw in lines[1:]:
        header = _HEADER.fullmatch(raw)
        if header is None:
            return None
        name, value = header.group(1).lower(), header.group(2)
        if name == b"content-length":
            if length >= 0 or not value.isdigit() or len(value) > _MAX_LENGTH_DIGITS:
                return None
            length = int(value)
        elif name == b"host":
            hosts += 1
        elif name in _H11_ONLY:
            return None
        headers.append((name, value))
    body = data[end + 4 :]
    if hosts != 1 or length != len(body):
        return None
    return SimplePost(line.group(1), headers, body)


@dataclass(slots=True)
class Answer:
    """The response to a simple POST, written as h11 writes one.

    A body with a Content-Length goes out as it is, one without in chunks (h11's
    choice for an HTTP/1.1 client: the connection stays open). ``close``: the
    connection ends after this answer (asked for by the app or by hypercorn's request
    limit, or the body was not the length it said)."""

    close: bool = False
    remaining: int = -1  # body bytes still owed by the Content-Length; -1 unknown
    chunked: bool = False
    held: bytes = field(default=b"")

    def head(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        lines = [b"HTTP/1.1 %d \r\n" % status]
        framed = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-length" and value.isdigit():
                self.remaining, framed = int(value), True
            elif lowered == b"transfer-encoding":
                # h11 takes only chunked; anything else ends with the connection
                self.chunked, framed = value.strip().lower() == b"chunked", True
                self.close = self.close or not self.chunked
                continue  # h11 writes its own, last
            elif lowered == b"connection" and b"close" in value.lower():
                self.close = True
            lines.append(b"%s: %s\r\n" % (name, value))
        if self.close and not any(n.lower() == b"connection" for n, _ in headers):
            lines.append(b"connection: close\r\n")
        if self.chunked or not framed:  # as h11 does, after every other header
            self.chunked = True
            lines.append(b"Transfer-Encoding: chunked\r\n")
        lines.append(b"\r\n")
        self.held = b"".join(lines)

    def body(self, data: bytes) -> bytes:
        """What to write for ``data``: the held head first, never past the length."""
        if self.chunked:
            if data:
                data = b"%x\r\n%s\r\n" % (len(data), data)
        elif self.remaining >= 0:
            if len(data) > self.remaining:  # h11 would refuse it; end the connection
                data, self.close = data[: self.remaining], True
            self.remaining -= len(data)
        out, self.held = self.held + data, b""
        return out

    def end(self) -> bytes:
        """What is left to write at the end of the body (the head of an empty one)."""
        if self.remaining > 0:  # shorter than its length: the client cannot frame it
            self.close = True
        out, self.held = self.held + (b"0\r\n\r\n" if self.chunked else b""), b""
        return out
