"""``tradepit --help`` speaks to someone running a competition: what the tool does,
the commands to start with, and where the docs are; no module names."""

from __future__ import annotations

import pytest

from engine import cli


def test_the_help_says_what_tradepit_is_and_where_to_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "trading competition" in text
    assert "tradepit serve " in text
    assert "docs/operations.md" in text
    assert "``" not in text
    assert "module" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    for name in cli.SUBCOMMANDS:
        assert f"    {name}" in text
