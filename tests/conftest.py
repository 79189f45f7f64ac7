"""What every test shares: one SSL context for httpx's plain-HTTP calls, and the long
files first.

httpx builds a new SSL context, parsing certifi's whole CA bundle, for every
``httpx.get``/``httpx.post`` and every client, whether or not it will speak TLS: 10 ms
on a quiet machine and 95 ms on this loaded 2-core one, and the suite makes thousands of
loopback HTTP calls (``wait_until`` polls among them). No test verifies a public
certificate, so the default context is made once; any other (``verify=False``, a test's
own CA) is made as httpx would. Both httpx transports take the function from
``httpx._transports.default``: a private name, checked here so an httpx that moves it
fails the whole run at import rather than silently slowing it down again.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from typing import Any

import httpx._transports.default as transports
import pytest

_found = getattr(transports, "create_ssl_context", None)
assert callable(_found), "httpx moved create_ssl_context: update tests/conftest.py"
_create: Callable[..., ssl.SSLContext] = _found


@functools.cache
def _default() -> ssl.SSLContext:
    return _create()


def _create_ssl_context(
    verify: Any = True, cert: Any = None, trust_env: bool = True
) -> ssl.SSLContext:
    if verify is True and cert is None and trust_env:
        return _default()
    return _create(verify=verify, cert=cert, trust_env=trust_env)


setattr(transports, "create_ssl_context", _create_ssl_context)  # noqa: B010 (private name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files that hold a ``slow`` test first, in their own order, then the rest.

    ``./scripts/test`` hands files to its workers in this order (pytest-xdist's
    ``--dist loadfile``): a two-minute file started last would keep one worker busy
    after the others are done, so the long ones start while the short ones fill in.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: order kept within each
