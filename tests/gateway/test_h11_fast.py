"""``simple_post``: only the plainest whole request is read without h11."""

from __future__ import annotations

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


def test_an_answer_is_framed_as_h11_frames_it() -> None:
    answer = Answer()
    answer.head(200, [(b"content-length", b"2"), (b"x-a", b"b")])
    assert answer.body(b"ok") == b"HTTP/1.1 200 \r\ncontent-length: 2\r\nx-a: b\r\n\r\nok"
    assert answer.end() == b""
    assert not answer.close


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
