"""Expected standings as files beside the tests: compared exactly, rewritten on request.

``TRADEPIT_REGEN_GOLDEN=1`` rewrites them (then read the diff: each was checked by hand).

The small sessions' files embed ``config_hash``: the hash of the default config
(``engine/config.py``) with the test's overrides, so changing any default changes every
one of them while no figure moved. A failure says when that is what differs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "TRADEPIT_REGEN_GOLDEN=1 ./scripts/test tests/scoring"


def check(name: str, data: Any) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if os.environ.get("TRADEPIT_REGEN_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run `{REGENERATE}` and check it"
    expected, got = json.loads(path.read_text()), json.loads(text)
    assert expected == got, f"{name} differs from {path}{_why(name, expected, got)}"


def _why(name: str, expected: Any, got: Any) -> str:
    if not isinstance(expected, dict) or not isinstance(got, dict):
        return f"; if the change is meant, run `{REGENERATE}` and read the diff"
    hashes = (_config_hash(expected), _config_hash(got))
    if hashes[0] == hashes[1]:
        return f"; if the change is meant, run `{REGENERATE}` and read the diff"
    rest_equal = _without_hash(expected) == _without_hash(got)
    source = (
        "the recorded session's config (replays/ was re-recorded)"
        if name.startswith("replays/")
        else "the default config (engine/config.py) with the test's overrides, so a "
        "changed default changes it"
    )
    return (
        f": its config_hash changed ({hashes[0]} -> {hashes[1]}). The file embeds the hash "
        f"of {source}"
        + (" and nothing else differs" if rest_equal else ", and the figures differ too")
        + f". If the config change is meant, run `{REGENERATE}` and read the diff"
    )


def _config_hash(data: dict[str, Any]) -> Any:
    return data.get("config_hash", data.get("standings", {}).get("config_hash"))


def _without_hash(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k != "config_hash"}
    if isinstance(out.get("standings"), dict):
        out["standings"] = {k: v for k, v in out["standings"].items() if k != "config_hash"}
    return out
