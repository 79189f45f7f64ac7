"""Expected standings as files beside the tests: compared exactly, rewritten on request.

``TRADEPIT_REGEN_GOLDEN=1`` rewrites them (then read the diff: each was checked by hand).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"


def check(name: str, data: Any) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if os.environ.get("TRADEPIT_REGEN_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run with TRADEPIT_REGEN_GOLDEN=1 and check it"
    assert json.loads(path.read_text()) == json.loads(text), f"{name} differs from {path}"
