"""Counts Python function calls in a gateway, for ``./scripts/bench calls``.

On the ``PYTHONPATH`` of the gateways that benchmark starts, and only there: with
``TRADEPIT_CALLS_OUT`` set, the first SIGUSR1 starts counting every Python call of the
main thread by file and function, the second writes the counts to
``$TRADEPIT_CALLS_OUT.<pid>.json`` and stops. Python imports this module at start-up
by its name; nothing imports it otherwise.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("TRADEPIT_CALLS_OUT") and "gateway" in sys.argv:
    import collections
    import json
    import signal
    from types import FrameType
    from typing import Any

    _counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def _count(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            _counts[(code.co_filename, code.co_name)] += 1

    def _toggle(signum: int, frame: FrameType | None) -> None:
        if sys.getprofile() is not _count:
            _counts.clear()
            sys.setprofile(_count)
            return
        sys.setprofile(None)
        counts = {f"{path}:{name}": n for (path, name), n in _counts.items()}
        out = f"{os.environ['TRADEPIT_CALLS_OUT']}.{os.getpid()}.json"
        with open(out + ".part", "w") as f:
            json.dump(counts, f)
        os.replace(out + ".part", out)  # whole or absent for the reader

    signal.signal(signal.SIGUSR1, _toggle)
