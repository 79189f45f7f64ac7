"""Load for ``bench e2e``'s WebSocket order entry, in a process of its own as wrk is for REST.

``python -m benchmarks._wsload URL KEY SECONDS SOCKETS WINDOW BODY_JSON [DELAY_MS]``
opens SOCKETS order sockets (``/ws?stream=0``) and prints one JSON line: answers per
second, how many were refusals and, paced, the answers' latency.

* Flat out (no DELAY_MS): WINDOW requests under way on each socket, a new one sent as
  each answer arrives. Frames are prepared once and answers are only counted, not
  decoded whole, so the client spends as little of the machine as it can (the gateway
  is what is measured).
* Paced (DELAY_MS): WINDOW request loops on each socket, each sending one request,
  awaiting its answer, then waiting DELAY_MS before the next: wrk's model with a Lua
  ``delay()``, which ``bench e2e`` gives REST at the same offered load. The latency of
  each request (sent -> its answer read) is kept: ``p50_ms``, ``p99_ms``.
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


async def _paced_socket(
    url: str, body: str, loops: int, delay: float, until: float, counts: list[int],
    latencies: list[float],
) -> None:  # fmt: skip
    data = json.loads(body)
    waiting: dict[str, asyncio.Future[str]] = {}

    async with websockets.connect(url, max_queue=None, compression=None) as ws:

        async def read() -> None:
            async for answer in ws:
                waiting.pop(json.loads(answer)["request_id"]).set_result(str(answer))

        async def loop(number: int) -> None:
            n = 0
            while time.perf_counter() < until:
                request_id = f"l{number}-{n}"
                n += 1
                answered = asyncio.get_running_loop().create_future()
                waiting[request_id] = answered
                started = time.perf_counter()
                await ws.send(json.dumps({"type": "order", "request_id": request_id, "data": data}))
                answer = await answered
                latencies.append(time.perf_counter() - started)
                counts[0] += 1
                if '"success":false' in answer[:200]:
                    counts[1] += 1
                await asyncio.sleep(delay)

        reader = asyncio.create_task(read())
        await asyncio.gather(*(loop(number) for number in range(loops)))
        reader.cancel()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000 if ordered else 0.0


async def main(
    url: str, key: str, seconds: float, sockets: int, window: int, body: str, delay_ms: float | None
) -> None:
    ws_url = url.replace("http", "ws", 1) + f"/ws?api_key={key}&stream=0"
    counts = [0, 0]  # answers, refusals
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + seconds
    if delay_ms is None:
        runs = [_socket(ws_url, body, window, until, counts) for _ in range(sockets)]
    else:
        runs = [
            _paced_socket(ws_url, body, window, delay_ms / 1000, until, counts, latencies)
            for _ in range(sockets)
        ]
    await asyncio.gather(*runs)
    elapsed = time.perf_counter() - started
    result: dict[str, float] = {"per_s": counts[0] / elapsed, "refused": counts[1],
                                "answers": counts[0]}  # fmt: skip
    if delay_ms is not None:
        result |= {"p50_ms": _pct(latencies, 0.5), "p99_ms": _pct(latencies, 0.99)}
    print(json.dumps(result))


if __name__ == "__main__":
    url, key, seconds, sockets, window, body = sys.argv[1:7]
    delay = float(sys.argv[7]) if len(sys.argv) > 7 else None
    asyncio.run(main(url, key, float(seconds), int(sockets), int(window), body, delay))
