"""Each vocabulary is one table in code, and the docs' table is rendered from it.

Error codes and close codes (``gateway/errors.py``), cancel reasons and phases
(``engine/vocabulary.py``): the code that sends a word must find it in its table, and a
row added to a table reaches the docs by ``python -m tests.docs.extract --write``; until
then ``test_values.test_generated_blocks_are_current`` fails.
"""

from __future__ import annotations

from typing import cast, get_args

import pytest

from engine import vocabulary
from engine.records import CancelReason, Phase
from gateway import errors
from tests.docs import extract

#: Where each generated table is shown, from the repository's root.
HOMES = {
    "errors": "docs/protocol.md",
    "statuses": "README.md",
    "close_codes": "docs/protocol.md",
    "cancel_reasons": "docs/protocol.md",
    "phases": "docs/rules.md",
    "config": "docs/operations.md",
    "roles": "docs/operations.md",
    "bot_kit": "docs/bots.md",
}


def test_every_generated_table_has_its_place_in_the_docs() -> None:
    assert set(HOMES) == set(extract.GENERATED)
    for name, doc in HOMES.items():
        assert name in extract.generated_blocks((extract.ROOT / doc).read_text()), (
            f"{doc} has no '<!-- generated: {name} -->' block"
        )


def test_every_error_code_the_code_sends_has_a_row() -> None:
    missing = extract.error_codes() - set(errors.CODES)
    assert not missing, f"add a row to gateway/errors.py CODES for {sorted(missing)}"
    unused = set(errors.CODES) - extract.error_codes()
    assert not unused, f"gateway/errors.py CODES names codes nothing sends: {sorted(unused)}"


def test_every_close_code_has_a_row() -> None:
    assert extract.close_codes() == set(errors.CLOSE_CODES)


def test_the_types_and_the_tables_name_the_same_words() -> None:
    # also asserted when engine/vocabulary.py is imported; stated here for the reader
    assert tuple(vocabulary.CANCEL_REASONS) == get_args(CancelReason)
    assert tuple(vocabulary.PHASES) == get_args(Phase)


def test_the_open_phases_are_the_phase_table_s() -> None:
    from engine.core.rules import phase_allows
    from engine.market import retail

    assert vocabulary.OPEN_PHASES == retail.SUBMIT_PHASES == ("pre_open", "continuous")
    assert [p for p in vocabulary.PHASES if phase_allows(p, "submit") is None] == list(
        vocabulary.OPEN_PHASES
    )


def test_the_status_of_a_code_is_its_row_s() -> None:
    assert all(errors.status_for(code) == row.status for code, row in errors.CODES.items())
    assert errors.status_for("SOME_ENGINE_REJECTION") == 422


@pytest.mark.parametrize("table", ["errors", "cancel_reasons", "close_codes", "phases"])
def test_a_new_row_reaches_the_docs_by_regeneration(
    monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    word = {"errors": "`TRADING_HALTED`", "cancel_reasons": "`halted`", "close_codes": "`4999`"}
    if table == "errors":
        monkeypatch.setitem(errors.CODES, "TRADING_HALTED", errors.Code(409, "a halt"))
    elif table == "cancel_reasons":
        reasons = cast(dict[str, str], vocabulary.CANCEL_REASONS)
        monkeypatch.setitem(reasons, "halted", "a halt")
    elif table == "close_codes":
        monkeypatch.setitem(errors.CLOSE_CODES, 4999, errors.Close("a halt", "wait"))
    else:
        rules = vocabulary.PhaseRules(False, "a halt")
        monkeypatch.setitem(
            cast(dict[str, vocabulary.PhaseRules], vocabulary.PHASES), "halted", rules
        )
    doc = (extract.ROOT / HOMES[table]).read_text(encoding="utf-8")
    new = extract.regenerate(doc)
    assert new != doc, "the stale table would pass test_generated_blocks_are_current"
    assert "a halt" in extract.generated_blocks(new)[table]
    assert word.get(table, "`halted`") in extract.generated_blocks(new)[table]


def test_the_bot_kit_names_only_codes_the_server_sends() -> None:
    # the bot kit is its own distribution and cannot import the table: pinned here instead
    from tradepit import errors as kit

    unknown = set(kit._BY_CODE) - set(errors.CODES)
    assert not unknown, f"bots/tradepit/errors.py maps codes the server never sends: {unknown}"


def test_a_new_continuous_only_order_type_reaches_the_phase_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.order_types import ORDER_TYPES, OrderType

    kind = OrderType(
        "fill_or_kill",
        needs_price=True,
        rests=False,
        remainder_reason="no_liquidity",
        continuous_only=True,
    )
    monkeypatch.setitem(ORDER_TYPES, kind.name, kind)
    phases = extract.render_phases()
    assert "market, fill_or_kill orders are refused" in phases
