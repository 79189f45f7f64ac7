"""``simple_post``: only the plainest whole request is read without h11."""

from __future__ import annotations

import h11
import pytest

from gateway.web.h11_fast import PATHS, Answer, simple_post

HEAD = b"POST /orders HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\nContent-Length: 2\r\n\r\n"


def test_a_plain_post_is_read() -> None:
    request = simple_post(HEAD + b"{}", PATHS, 16384)
    assert request is not None
    assert request.target == b"/orders"
    assert request.headers == [(b"host", b"x"), (b"x-api-key", b"k"), (b"content-length", b"2")]
    assert request.body == b"{}"


@pytest.mark.parametrize(
    "data",
    [
        HEAD + b"{",  # the body not all there
        HEAD + b"{}POST",  # a pipelined request behind it
        HEAD[:-2],  # the head not all there
        HEAD.replace(b"POST", b"PUT") + b"{}",
        HEAD.replace(b"/orders", b"/orders?x=1") + b"{}",
        HEAD.replace(b"/orders", b"/health") + b"{}",
        HEAD.replace(b"HTTP/1.1", b"HTTP/1.0") + b"{}",
        HEAD.replace(b"Host: x\r\n", b"") + b"{}",  # h11 answers 400
        HEAD.replace(b"Host: x", b"Host: x\r\nHost: y") + b"{}",
        HEAD.replace(b"Content-Length: 2", b"Content-Length: 2\r\nContent-Length: 2") + b"{}",
        HEAD.replace(b"Content-Length: 2", b"Content-Length: +2") + b"{}",
        HEAD.replace(b"Content-Length: 2\r\n", b"") + b"{}",
        HEAD.replace(b"Host: x", b"Host: x\r\nTransfer-Encoding: chunked") + b"{}",
        HEAD.replace(b"Host: x", b"Host: x\r\nExpect: 100-continue") + b"{}",
        HEAD.replace(b"Host: x", b"Host: x\r\nConnection: close") + b"{}",
        HEAD.replace(b"Host: x", b"Host: x\r\nUpgrade: h2c") + b"{}",
        HEAD.replace(b"Host: x", b"Host: x\r\n folded") + b"{}",  # obs-fold
        HEAD.replace(b"Host: x", b"Host : x") + b"{}",  # space before the colon
        HEAD.replace(b"Host: x", b"Host: x\x00y") + b"{}",
        HEAD.replace(b"Host: x", b"Host: \xe9") + b"{}",  # obs-text: h11 judges
        HEAD.replace(b"Host: x", b"no colon") + b"{}",
        HEAD.replace(b"\r\nHost", b"\nHost") + b"{}",  # a bare LF
    ],
)
def test_anything_else_goes_to_h11(data: bytes) -> None:
    assert simple_post(data, PATHS, 16384) is None


def test_a_head_over_h11s_limit_goes_to_h11() -> None:
    assert simple_post(HEAD + b"{}", PATHS, len(HEAD) - 10) is None


def h11_bytes(status: int, headers: list[tuple[bytes, bytes]], bodies: list[bytes]) -> bytes:
    """What h11 writes for the same answer to the same request."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(HEAD + b"{}")
    assert isinstance(conn.next_event(), h11.Request)
    conn.next_event()
    out = conn.send(h11.Response(status_code=status, headers=headers)) or b""
    for body in bodies:
        out += conn.send(h11.Data(data=body)) or b""
    return out + (conn.send(h11.EndOfMessage()) or b"")


def ours(status: int, headers: list[tuple[bytes, bytes]], bodies: list[bytes]) -> bytes:
    answer = Answer()
    answer.head(status, headers)
    return b"".join(answer.body(body) for body in bodies) + answer.end()


@pytest.mark.parametrize(
    ("status", "headers", "bodies"),
    [
        (200, [(b"content-length", b"2"), (b"x-a", b"b")], [b"ok"]),
        (413, [(b"content-type", b"application/json"), (b"content-length", b"0")], []),
        (200, [(b"content-type", b"text/plain")], [b"abc", b"", b"defg"]),  # chunked
        (200, [(b"content-type", b"text/plain")], []),
        (200, [(b"transfer-encoding", b"chunked")], [b"abc"]),
        (500, [(b"content-length", b"0"), (b"connection", b"close")], []),
        (200, [(b"connection", b"close")], [b"abc"]),
    ],
)
def test_an_answer_is_framed_as_h11_frames_it(
    status: int, headers: list[tuple[bytes, bytes]], bodies: list[bytes]
) -> None:
    assert ours(status, headers, bodies) == h11_bytes(status, headers, bodies)


def test_a_kept_answer_stays_open_and_a_closing_one_says_so() -> None:
    answer = Answer()
    answer.head(200, [(b"content-type", b"text/plain")])
    answer.end()
    assert not answer.close
    answer = Answer(close=True)  # hypercorn's request limit
    answer.head(200, [(b"content-length", b"0")])
    assert b"\r\nconnection: close\r\n" in answer.end()


def test_an_answer_longer_than_its_length_is_cut_and_closes() -> None:
    answer = Answer()
    answer.head(200, [(b"content-length", b"2")])
    assert answer.body(b"okay").endswith(b"\r\n\r\nok")
    assert answer.close


def test_an_answer_shorter_than_its_length_closes() -> None:
    answer = Answer()
    answer.head(200, [(b"content-length", b"5")])
    answer.body(b"ok")
    answer.end()
    assert answer.close
