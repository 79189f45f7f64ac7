"""``tradepit results``: the table, CSV and JSON carry ``disabled``, ``requirements_met``
and ``unmet`` for every team, and say what the ranks mean (issue 32)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from engine.records import DisableTeam
from gateway.offline import results
from tests.scoring.session import Session


def _board() -> dict[str, Any]:
    """Three market makers: one covers everything, one half (unmet), one disabled."""
    s = Session(price_limits={"max_deviation_percent": 100})
    teams = {name: s.team(name, "market_maker") for name in ("mm-full", "mm-half", "mm-gone")}
    ids = list(s.core.instruments)
    for iid in ids:
        s.quote(teams["mm-full"], iid)
        s.quote(teams["mm-gone"], iid)
    for iid in ids[::2]:
        s.quote(teams["mm-half"], iid)
    s.run(DisableTeam(team_id=teams["mm-gone"]))
    s.tick(12)
    return results.standings(s.scorer())


def _write(board: dict[str, Any], fmt: str) -> str:
    out = io.StringIO()
    results.write(board, fmt, out)
    return out.getvalue()


def test_csv_has_the_flag_columns_and_the_policy() -> None:
    text = _write(_board(), "csv")
    header, body = text.split("\n", 1)
    assert header.startswith("# session golden seed 11 config ")
    assert header.endswith(" unmet_requirement rank_after")
    rows = {r["team_name"]: r for r in csv.DictReader(io.StringIO(body))}
    for column in ("requirements_met", "unmet", "disabled", "rank"):
        assert column in next(iter(rows.values()))
    got = {
        name: (r["rank"], r["requirements_met"], r["unmet"], r["disabled"])
        for name, r in rows.items()
    }
    assert got == {
        "mm-full": ("1", "True", "", "False"),
        "mm-half": ("2", "False", "uptime", "False"),  # after every team that met it
        "mm-gone": ("3", "False", "uptime", "True"),  # disqualified: last
    }


def test_json_rows_carry_the_flags() -> None:
    board = json.loads(_write(_board(), "json"))
    assert board["unmet_requirement"] == "rank_after"
    rows = {r["team_name"]: r for r in board["roles"]["market_maker"]}
    assert [r["team_name"] for r in board["roles"]["market_maker"]] == [
        "mm-full",
        "mm-half",
        "mm-gone",
    ]
    assert (rows["mm-gone"]["disabled"], rows["mm-gone"]["rank"]) == (True, 3)
    assert (rows["mm-half"]["requirements_met"], rows["mm-half"]["unmet"]) == (False, ["uptime"])
    assert (rows["mm-full"]["requirements_met"], rows["mm-full"]["disabled"]) == (True, False)


def test_the_table_flags_unmet_and_disabled_teams() -> None:
    text = _write(_board(), "table")
    assert "ranks: an unmet requirement ranks after every team that met its requirements" in text
    lines = {line.split()[1]: line for line in text.splitlines() if "mm-" in line}
    assert "UNMET" not in lines["mm-full"]
    assert "DISABLED" not in lines["mm-full"]
    assert lines["mm-half"].rstrip().endswith("UNMET: uptime")
    assert lines["mm-gone"].rstrip().endswith("UNMET: uptime  DISABLED")
