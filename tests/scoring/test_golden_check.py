"""A golden file's failure says what differs and how to regenerate it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scoring import golden


def test_a_changed_config_hash_is_named_with_the_regeneration_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(golden, "GOLDEN", tmp_path)
    monkeypatch.delenv("TRADEPIT_REGEN_GOLDEN", raising=False)
    (tmp_path / "g.json").write_text(json.dumps({"config_hash": "aaa", "pnl": 1}))
    with pytest.raises(AssertionError) as failure:
        golden.check("g", {"config_hash": "bbb", "pnl": 1})
    message = str(failure.value)
    assert "config_hash changed (aaa -> bbb)" in message
    assert "nothing else differs" in message
    assert golden.REGENERATE in message


def test_another_difference_names_the_regeneration_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(golden, "GOLDEN", tmp_path)
    monkeypatch.delenv("TRADEPIT_REGEN_GOLDEN", raising=False)
    (tmp_path / "g.json").write_text(json.dumps({"config_hash": "aaa", "pnl": 1}))
    with pytest.raises(AssertionError) as failure:
        golden.check("g", {"config_hash": "aaa", "pnl": 2})
    assert "config_hash" not in str(failure.value).split("differs from")[1]
    assert golden.REGENERATE in str(failure.value)
