"""Keep the cyclic garbage collector's pauses out of the order path.

CPython's full collection walks every object it tracks. In an engine or a gateway most
of those come from start-up: the modules, functions and classes of hypercorn, quart,
trio and ours, and the state the log was folded into. A full collection of that heap
took 35-50 ms on this project's 2-core machine, once or twice every 8 s at half load,
and each one held every order in flight (BENCHMARKS.md, "Garbage collection pauses").

``freeze_start_up`` collects once, then moves what survived into CPython's permanent
generation (``gc.freeze``): later collections skip it and take 3-4 ms. What is frozen is
still freed by reference counting when it goes; only a reference cycle among frozen
objects would outlive its last user, and at start-up nothing that comes and goes (a
connection, a request) exists yet. A process calls it once, after its start-up, from
its entry point: never from library code that tests run in process.

It also starts timing every collection after it: ``longest_pause`` is the longest, so
``/metrics`` shows whether a pause is what an organiser's slow ack was.
"""

from __future__ import annotations

import gc
import time
from typing import Any


class _Pauses:
    __slots__ = ("began", "longest")

    def __init__(self) -> None:
        self.began = 0.0
        self.longest = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.began = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self.began)


_pauses = _Pauses()


def freeze_start_up() -> int:
    """Collect, then freeze the survivors; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    if _pauses not in gc.callbacks:
        gc.callbacks.append(_pauses)
    return gc.get_freeze_count()


def longest_pause() -> float:
    """Seconds of the longest collection since ``freeze_start_up`` (0.0 before it)."""
    return _pauses.longest


def collections() -> dict[str, int]:
    """Collections so far by generation, as ``/metrics`` labels them."""
    return {f'generation="{n}"': stats["collections"] for n, stats in enumerate(gc.get_stats())}
