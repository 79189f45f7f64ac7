"""docs/architecture.md is drawn from the code: every folder of the two packages has a
row in its parts table, and the walk of one order names the live path's functions.

(That every ``path:symbol`` it names exists is ``test_repository``'s check.)
"""

from __future__ import annotations

from tests.docs.extract import DOCS, ROOT
from tests.docs.markdown import section, spans, table_rows

ARCHITECTURE = DOCS / "architecture.md"


def folders() -> list[str]:
    """Every folder of ``engine/`` and ``gateway/`` (caches and build output aside)."""
    return sorted(
        str(path.relative_to(ROOT)) + "/"
        for package in ("engine", "gateway")
        for path in (ROOT / package).rglob("*")
        if path.is_dir() and "__pycache__" not in path.parts
    )


def parts_table() -> list[list[str]]:
    return table_rows(section(ARCHITECTURE.read_text(encoding="utf-8"), "## The parts"))


def test_every_folder_has_a_row_in_the_parts_table() -> None:
    named = {span for row in parts_table() for span in spans(row[1])}
    missing = [folder for folder in folders() if folder not in named]
    assert not missing, f"docs/architecture.md's parts table has no row for {missing}"


def test_the_folder_check_sees_folders() -> None:
    # a guard on the check itself: nested folders count, caches do not
    assert {"engine/core/", "engine/log/nats/", "gateway/web/static/"} <= set(folders())
    assert not any("__pycache__" in folder for folder in folders())


def test_the_walk_follows_the_live_fold() -> None:
    walk = section(ARCHITECTURE.read_text(encoding="utf-8"), "## One order, from the HTTP "
                   "request to the counterparty's socket")  # fmt: skip
    # Gateway.follow calls Projection.fold (step is the expanded form tests use)
    assert "gateway/projection/fold.py:Projection.fold" in spans(walk)
    assert "gateway/projection/fold.py:Projection.step" not in spans(walk)
