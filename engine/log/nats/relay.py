"""A remote gateway's reader of the stream, in a process of its own.

Why a process: nats-py parses every message on its asyncio thread (``bridge``), and in
the gateway's process that thread holds the GIL while the fold waits for it. A remote
gateway caught up a 1M-record session about 40% slower than a local one reading the
same records from its file log, with the second core of the machine mostly idle. In a
child process the reading runs beside the fold; the gateway reads the payloads from a
pipe as a local one reads its log, and decodes and checks them itself
(``messages.decode_span``), so nothing the child does is trusted further than the
stream's own headers.

The protocol (in ``relay_process``, the child's module). The child's stdin carries two
lines, a JSON object with the NATS credentials and the session key (never argv: ``ps``
shows it) and the log seq to start from, and then stays open: its end tells the child
that its parent is gone. The child's stdout carries frames, each ``HEADER`` then a body:

- ``M``: a stream message (stream seq, first log seq, count, payload length; the
  payload as stored). Only sealed ones: the child checks every message's MAC with the
  session key (``JetStream.sealed``) and skips, naming its stream seq in a warning on
  the gateway's stderr, what the key did not seal. The check is the child's because it
  reads every byte (0.18 s per million records on the fold's core); the
  child is this gateway's own process on a private pipe, not someone on the network;
- ``E``: an error's text; the child exits after it.

The child is spawned before the gateway connects its own client, so its start-up
(a tenth of a second of imports and a connection) overlaps the gateway's.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path

import trio

from engine.log.errors import LogError
from engine.log.nats.access import NatsAccess
from engine.log.nats.messages import decode_span
from engine.log.nats.relay_process import Frames
from engine.records import AnyRecord

#: Bytes the parent reads from the pipe at once.
READ = 1 << 20
#: The checkout this module is in: the child imports it whatever its cwd.
ROOT = str(Path(__file__).resolve().parents[3])


class RelayStopped(LogError):
    """The child ended without saying why (killed, out of memory): another may be started."""


class Relay:
    """The gateway's end: the child process and the records it reads."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process

    @classmethod
    async def spawn(
        cls, url: str, session: str, key: bytes, access: NatsAccess | None = None
    ) -> Relay:
        path = os.environ.get("PYTHONPATH")
        env = os.environ | {"PYTHONPATH": ROOT if not path else f"{ROOT}{os.pathsep}{path}"}
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "engine.log.nats.relay_process", url, session],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert process.stdin is not None
        secrets = {"key": key.hex(), "access": (access or NatsAccess()).to_json()}
        await process.stdin.send_all(json.dumps(secrets).encode() + b"\n")
        return cls(process)

    async def follow(self, from_seq: int) -> AsyncGenerator[list[AnyRecord], None]:
        """Each stream message's records from log seq ``from_seq`` on, forever."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        from_seq = max(1, from_seq)
        await stdin.send_all(b"%d\n" % from_seq)
        frames = Frames()
        expected: int | None = None
        while True:
            data = await stdout.receive_some(READ)
            if not data:
                code = await self.process.wait()
                raise RelayStopped(f"the stream relay stopped (exit code {code})")
            for stream_seq, first, count, payload in frames.feed(data):
                records = decode_span(payload, first, count, stream_seq, expected)
                if expected is None and first > from_seq:
                    raise LogError(f"log seq {from_seq} is not in the stream")
                expected = first + count
                if expected <= from_seq:
                    continue
                yield records[from_seq - first :] if first < from_seq else records

    async def aclose(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with trio.CancelScope(shield=True):
            await self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    await pipe.aclose()
