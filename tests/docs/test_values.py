"""The numbers in the docs are the code's: the generated config reference is current,
and the hand-written tables of docs/rules.md agree with the config defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import config as configmod
from tests.docs import extract
from tests.docs.markdown import section, table_rows

RULES = extract.DOCS / "rules.md"


@pytest.mark.parametrize("doc", extract.documents(), ids=lambda p: p.name)
def test_generated_blocks_are_current(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert extract.regenerate(text) == text, (
        f"{doc} is stale: run `.venv/bin/python -m tests.docs.extract --write`"
    )


def test_the_config_reference_is_in_operations() -> None:
    blocks = extract.generated_blocks((extract.DOCS / "operations.md").read_text())
    assert set(blocks) == {"config", "roles"}
    assert all(f"`{key}`" in blocks["config"] for key, _ in extract.config_rows())


def _dollars(cents: int) -> str:
    return f"{cents / 100:+.2f}"


def _limit(value: int | None) -> str:
    return "none" if value is None else str(value)


def test_the_role_table_of_rules_md_is_the_default_config() -> None:
    rows = {
        row[0].strip("`"): row[1:]
        for row in table_rows(section(RULES.read_text(), "## Roles"))
        if row[0].startswith("`")
    }
    roles = configmod.Config().roles
    assert set(rows) == set(roles)
    for name, rules in roles.items():
        assert rows[name] == [
            _dollars(rules.maker_fee),
            _dollars(rules.taker_fee),
            _limit(rules.limit_per_option),
            _limit(rules.limit_per_underlying),
            str(rules.total_limit),
            str(rules.orders_per_second),
            str(rules.max_order_size),
            ", ".join(rules.order_types),
        ], name


def test_the_headlines_of_rules_md_are_the_default_config() -> None:
    rows = table_rows(section(RULES.read_text(), "## The simulation"))
    table = {row[0]: row[1:] for row in rows if len(row) == 3 and row[1].endswith("%")}
    expected = {
        h.text: [f"{round(h.regime_shift * 100)}%", f"{round(h.jump * 100)}%"]
        for h in configmod.Config().news.headlines
    }
    assert table == expected


def test_the_regime_table_of_rules_md_is_the_default_config() -> None:
    rows = table_rows(section(RULES.read_text(), "## The simulation"))
    regimes = configmod.Config().regimes
    table = {row[0]: [float(x) for x in row[1:]] for row in rows if row[0] in regimes.vols}
    assert table == {name: list(row) for name, row in regimes.transitions.items()}


def test_the_quote_width_table_of_rules_md_is_the_default_config() -> None:
    rows = table_rows(section(RULES.read_text(), "### Quote width"))[1:]  # past the header
    quotes = configmod.Config().quotes
    share = f"{quotes.max_spread_bps / 100:g}% of the mid"
    expected = []
    low = "under"
    for row in quotes.widths:
        expected.append(
            [f"{low} {row.below / 100:.2f}", f"{row.spread / 100:.2f}, or {share} if wider"]
        )
    last = quotes.widths[-1].below if quotes.widths else 0
    expected.append([f"{last / 100:.2f} and above", share])
    assert rows == expected
