"""Load for ``bench e2e``'s WebSocket order entry, in a process of its own as wrk is for REST.

``python -m benchmarks._wsload URL KEY SECONDS SOCKETS WINDOW BODY_JSON`` opens SOCKETS
order sockets (``/ws?stream=0``), keeps WINDOW requests under way on each (a new one sent
as each answer arrives), and prints one JSON line: answers per second, and how many were
refusals. Frames are prepared once and answers are only counted, not decoded whole, so
the client spends as little of the machine as it can (the gateway is what is measured).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import websockets


async def _socket(url: str, body: str, window: int, until: float, counts: list[int]) -> None:
    frames = [
        json.dumps({"type": "order", "request_id": f"r{n}", "data": json.loads(body)})
        for n in range(window)
    ]
    async with websockets.connect(url, max_queue=None, compression=None) as ws:
        for frame in frames:
            await ws.send(frame)
        n = 0
        while time.perf_counter() < until:
            answer = await ws.recv()
            counts[0] += 1
            if '"success":false' in answer[:200]:
                counts[1] += 1
            await ws.send(frames[n % window])
            n += 1
        for _ in range(window):  # drain what is still under way
            await ws.recv()


async def main(url: str, key: str, seconds: float, sockets: int, window: int, body: str) -> None:
    ws_url = url.replace("http", "ws", 1) + f"/ws?api_key={key}&stream=0"
    counts = [0, 0]  # answers, refusals
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_socket(ws_url, body, window, until, counts) for _ in range(sockets)))
    elapsed = time.perf_counter() - started
    print(json.dumps({"per_s": counts[0] / elapsed, "refused": counts[1], "answers": counts[0]}))


if __name__ == "__main__":
    url, key, seconds, sockets, window, body = sys.argv[1:7]
    asyncio.run(main(url, key, float(seconds), int(sockets), int(window), body))
