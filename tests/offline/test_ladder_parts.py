"""The ladder's parts without a heat: versions, the scheduler, the fold, the endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.offline.ladder import ratings, roster, schedule, view, web
from tests.offline.ladder_dir import SECRET, make_ladder, team, write_heat
from tests.offline.ladder_dir import heat as heat_record

BOTS = Path(__file__).parent / "bots"


def heat(
    number: int, ranks: dict[str, int], role: str = "retail", started: float = 0.0
) -> dict[str, Any]:
    teams = [{"name": n, "version": "v1", "role": role, "rank": r, "failed": None, "rated": True,
              "score": 0.0} for n, r in ranks.items()]  # fmt: skip
    return {"number": number, "seed": number, "rated": True, "teams": teams, "started": started,
            "session": "data/s"}  # fmt: skip


def test_a_bot_is_versioned_by_the_content_of_its_file(tmp_path: Path) -> None:
    bot = tmp_path / "mine.py"
    bot.write_text("print(1)\n")
    first = roster.add(tmp_path, "team-a", "retail", str(bot))
    assert roster.add(tmp_path, "team-a", "retail", str(bot)) == first  # the same bot again
    bot.write_text("print(2)\n")
    second = roster.add(tmp_path, "team-a", "retail", str(bot))
    assert second.version != first.version
    assert roster.load(tmp_path)["team-a"] == second


def test_the_scheduler_picks_the_least_played_then_the_nearest() -> None:
    bots = {n: roster.Entry(n, "retail", f"run {n}", n, i) for i, n in enumerate("abcd")}
    others = {f"x-{r}": roster.Entry(f"x-{r}", r, "x", "x", 0)
              for r in ("market_maker", "hedge_fund", "arbitrage")}  # fmt: skip
    heats = [
        heat(1, {"a@a": 1, "b@b": 2}),
        heat(2, {"a@a": 1, "b@b": 2}),
        heat(3, {"a@a": 2, "c@c": 1}),
    ]
    for h in heats:  # names as the fold keys them: name@version
        for t in h["teams"]:
            t["name"], t["version"] = t["name"].split("@")
    table = ratings.fold(heats)
    chosen = schedule.pick(bots | others, table, schedule.Rules(per_role=2), {})
    retail = [e.name for e, _ in chosen if e.role == "retail"]
    assert retail[0] == "d"  # never played
    # then the one nearest in rating to d's (a new bot's 0): the others' conservative figures
    near = min("abc", key=lambda n: (abs(table[f"{n}@{n}"].conservative), n))
    assert retail == ["d", near]
    # a capped team is not picked while another can play
    capped = schedule.pick(
        bots | others, table, schedule.Rules(per_role=2, cap_per_hour=1), {"d": 1}
    )
    assert "d" not in [e.name for e, _ in capped]


def test_recomputing_gives_the_incremental_table(tmp_path: Path) -> None:
    heats = [heat(i, {"a": 1 + i % 2, "b": 2 - i % 2, "c": 3}) for i in range(1, 7)]
    state: dict[str, ratings.Standing] = {}
    for h in heats:
        ratings.apply(state, h)
    assert ratings.rows(state) == ratings.rows(ratings.fold(heats))
    assert ratings.rows(state)[-1]["name"] == "c"
    assert ratings.order_sensitivity(heats, orders=20, seed=1) <= 1


def test_the_endpoints_answer_from_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "heats" / "heat-0001" / "bots"
    folder.mkdir(parents=True)
    (folder / "a.err").write_text("Traceback: boom\n")
    h = heat(1, {"a": 2, "b": 1})
    h["teams"][0]["failed"] = "crashed at tick 3"
    (folder.parent / "heat.json").write_text(json.dumps(h))
    status, _, body = web.answer(tmp_path, "/api/ladder")
    assert status == 200
    assert [t["name"] for t in json.loads(body)["table"]] == ["b", "a"]
    status, _, body = web.answer(tmp_path, "/api/ladder/teams/a")
    assert json.loads(body)["errors"][0]["failed"] == "crashed at tick 3"
    assert web.answer(tmp_path, "/api/ladder/heats/1/bots/a.err")[2] == b"Traceback: boom\n"
    assert web.answer(tmp_path, "/api/ladder/heats/1/bots/..%2Fx.err")[0] == 404
    assert web.answer(tmp_path, "/")[0] == 200


def test_the_standalone_page_is_the_gateways(tmp_path: Path) -> None:
    root = make_ladder(tmp_path / "ladder")
    status, kind, page = web.answer(root, "/")
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert b'<table id="ladder-table">' in page
    assert b'<a href="/api/ladder/heats/2">2</a>' in page  # its own JSON routes
    assert b'href="/dashboard">live' not in page  # no live page beside it
    assert web.answer(root, "/dashboard/dashboard.css")[0] == 200  # the dashboard's look
    status, _, bot = web.answer(root, "/dashboard/ladder/alpha")
    assert status == 200
    assert b'<a href="/api/ladder/heats/2/bots/alpha.err">.err</a>' in bot
    assert web.answer(root, "/dashboard/ladder/..")[0] == 404
    assert web.answer(root, "/api/ladder/heats/2/bots/sneaky.out")[0] == 404


def test_a_bots_output_stays_in_the_ladder_and_is_cut_to_its_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_ladder(tmp_path / "ladder")
    lad = view.Ladder(root)
    assert lad.output(1, "alpha", "out") == b"alpha in heat 1\n"
    assert (root / "heats" / "heat-0002" / "bots" / "sneaky.out").read_text() == SECRET
    assert lad.output(2, "sneaky", "out") is None  # a symlink out of the ladder
    with pytest.raises(ValueError, match="plain word"):
        lad.output(1, "../../secret", "out")
    monkeypatch.setattr(view, "OUTPUT_TAIL_BYTES", 6)
    cut = lad.output(1, "alpha", "out")
    assert cut is not None
    assert cut.startswith(b"[the first 10 bytes are cut")
    assert cut.endswith(b"\neat 1\n")


def test_the_kept_fold_follows_a_new_heat(tmp_path: Path) -> None:
    root = make_ladder(tmp_path / "ladder")
    lad = view.Ladder(root)
    assert [h["number"] for h in lad.overview()["heats"]] == [3, 2, 1]
    write_heat(root, heat_record(4, [team("alpha", 1), team("beta", 2)]))
    assert [h["number"] for h in lad.overview()["heats"]] == [4, 3, 2, 1]
    alpha = next(r for r in lad.table() if r["name"] == "alpha")
    assert alpha["games"] == 3


def test_a_bot_that_hangs_without_cpu_loses_on_the_wall_budget(tmp_path: Path) -> None:
    """Blocked, asleep: no CPU to measure, so the lockstep clock's wall budget is what
    notices; the ladder then stops it and the heat goes on."""
    from engine.records import ROLES
    from gateway.offline.ladder import heat as heats

    sleeper = roster.Entry("sleeper", "retail", roster.command_for(str(BOTS / "hang.py")), "s", 0)
    entries = [(roster.example(r), True) for r in ROLES] + [(sleeper, True)]
    record = heats.run(1, 3, entries, tmp_path / "h", heats.Settings(ticks=5, wall_tick_seconds=2))
    teams = {t["name"]: t for t in record["teams"]}
    assert teams["sleeper"]["failed"] == "hung at tick 2: not done within 2 s of wall time"
    assert teams["sleeper"]["rank"] == 2
    assert teams["ex-retail"]["failed"] is None


def test_a_practice_heat_is_unrated_and_against_the_examples(tmp_path: Path) -> None:
    from engine.cli import main

    assert main(["ladder", str(tmp_path), "--add", "mine", "--role", "retail",
                 "--bot", str(BOTS / "crash_at_tick_3.py")]) == 0  # fmt: skip
    assert main(["ladder", str(tmp_path), "--practice", "mine", "--ticks", "5"]) == 0
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("practice/*/heat.json")]
    assert record["rated"] is False
    names = sorted(t["name"] for t in record["teams"])
    assert names == ["ex-arbitrage", "ex-hedge_fund", "ex-market_maker", "ex-retail", "mine"]
    assert not (tmp_path / "heats").exists()  # not a ladder heat: no rating moves


def test_a_heat_whose_server_fails_is_void_and_three_in_a_row_stop_the_ladder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.cli import main
    from engine.records import ROLES
    from gateway.offline.ladder import heat as heats

    for role in ROLES:
        assert main(["ladder", str(tmp_path), "--add", f"b-{role}", "--role", role,
                     "--bot", "true"]) == 0  # fmt: skip

    def broken(*args: object, **kwargs: object) -> dict[str, Any]:
        raise RuntimeError("heat 1: the server did not start")

    monkeypatch.setattr(heats, "run", broken)
    assert main(["ladder", str(tmp_path), "--heats", "5"]) == 1
    void = ratings.heats_of(tmp_path)
    assert [(h["number"], h["rated"], h["teams"]) for h in void] == [
        (n, False, []) for n in (1, 2, 3)
    ]
    assert ratings.fold(void) == {}
