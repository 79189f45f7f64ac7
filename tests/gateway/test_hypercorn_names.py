"""Every private name of hypercorn that ``gateway/web/hypercorn_tuning.py`` relies on
still exists in the installed hypercorn, so an upgrade cannot switch the tuning off
silently (a subclass overriding a method hypercorn no longer calls would just be dead).
"""

from __future__ import annotations

import inspect

import hypercorn.protocol
import hypercorn.trio.run
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio.tcp_server import TCPServer

from gateway.web import hypercorn_tuning


def test_hypercorn_looks_the_tuned_classes_up_where_install_puts_them() -> None:
    assert issubclass(getattr(hypercorn.trio.run, "TCPServer"), TCPServer)  # noqa: B009
    assert issubclass(getattr(hypercorn.protocol, "H11Protocol"), H11Protocol)  # noqa: B009
    # the worker and the protocol factory read these module globals at run time: each is
    # imported and then used by name, so replacing the module attribute takes effect
    assert inspect.getsource(hypercorn.trio.run).count("TCPServer") >= 2
    assert "H11Protocol(" in inspect.getsource(hypercorn.protocol)


def test_the_overridden_and_called_names_exist() -> None:
    server = inspect.getsource(TCPServer)
    assert "self.idle_task" in server  # replaced by KeepAliveTimer in __init__
    assert callable(TCPServer._initiate_server_close)
    assert callable(TCPServer.run)
    for name in ("restart", "stop"):  # what TCPServer calls on its idle task
        assert f"idle_task.{name}" in server, name
    assert callable(H11Protocol._send_h11_event)
    protocol = inspect.getsource(H11Protocol)
    assert "self._send_h11_event(" in protocol
    assert "self.connection" in protocol
    assert "self.send(" in protocol


def test_install_replaces_both_classes() -> None:
    saved = (hypercorn.trio.run.TCPServer, hypercorn.protocol.H11Protocol)  # type: ignore[attr-defined]
    try:
        hypercorn_tuning.install()
        assert hypercorn.trio.run.TCPServer is hypercorn_tuning.ContainedTCPServer  # type: ignore[attr-defined]
        assert hypercorn.protocol.H11Protocol is hypercorn_tuning.CoalescingH11Protocol  # type: ignore[attr-defined]
    finally:
        hypercorn.trio.run.TCPServer, hypercorn.protocol.H11Protocol = saved  # type: ignore[attr-defined]
