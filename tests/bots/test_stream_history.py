"""When the history a bot would resume from is gone (410 on ``/events``, close 4010 on
the socket), the bot kit's stream starts over from a fresh snapshot and continues
gaplessly from it; the state is the snapshot's. History is gone only with the archive
switched off (``[gateway] archive = false``): otherwise the log serves it
(``tests/e2e/test_archive.py``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tradepit import Client, SnapshotRequired, Stream
from tradepit.messages import PositionSnapshot

from tests.e2e.server import FAST_CONFIG, running_server

CONFIG = (
    FAST_CONFIG
    + """
[gateway]
events_history = 40
archive = false
"""
)


async def _scenario(url: str) -> None:
    async with Client(url) as client:
        await client.register("forgetful", "retail")
        # every tick sends a few messages: wait until seq 1 has left the history
        async with asyncio.timeout(60):
            while True:
                try:
                    await client.events(0, 1)
                except SnapshotRequired:
                    break
                await asyncio.sleep(0.1)
        stream = Stream(client, last_seq=0)
        got = []
        async for msg, _ in stream:
            got.append(msg)
            if len(got) == 10:
                break
        stream.close()
    first = got[0]
    assert isinstance(first, PositionSnapshot)
    assert first.seq > 40
    assert [m.seq for m in got] == list(range(first.seq, first.seq + 10))
    assert stream.state.role == "retail"


def test_a_lost_history_restarts_from_a_snapshot(tmp_path: Path) -> None:
    with running_server(tmp_path, config=CONFIG) as server:
        server.wait_continuous()
        asyncio.run(_scenario(server.url))
