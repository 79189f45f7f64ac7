"""The closing bell survives an engine restart, and ``tradepit results`` stops at it."""

from __future__ import annotations

import itertools
from pathlib import Path

from engine import config as configmod
from engine import log as logmod
from engine.records import (
    ChangePhase,
    ClockTick,
    CompetitionEnded,
    EndCompetition,
    RegisterTeam,
    SetClock,
    SubmitOrder,
)
from engine.shell.sequencer import Engine, log_dir
from gateway.offline import results

CONFIG = configmod.load(None, retail={"enabled": False})


def engine(path: Path) -> Engine:
    clock = itertools.count(1_000_000_000, 1_000_000)
    return Engine(path, CONFIG, seed=5, now_ns=lambda: next(clock))


def test_the_bell_is_kept_on_resume_and_results_stop_at_it(tmp_path: Path) -> None:
    first = engine(tmp_path)
    first.open()
    first._append_now(
        [
            RegisterTeam(team_name="alpha", role="hedge_fund", api_key_hash="h"),
            ChangePhase(phase="continuous"),
            ClockTick(),
            SubmitOrder(team_id="TEAM_0001", instrument_id="SPY", side="buy", quantity=5,
                        order_type="market"),
            ClockTick(),
            EndCompetition(),
        ]
    )  # fmt: skip
    first.close()
    with logmod.open_reader(log_dir(tmp_path)) as reader:
        [bell] = [r for r in reader.read(1) if isinstance(r, CompetitionEnded)]

    second = engine(tmp_path)
    second.open()  # rebuilt from the log: the bell rang, the clock stays stopped
    core = second.core
    assert core is not None
    assert (core.ended_seq, core.clock_running, core.phase) == (bell.seq, False, "closed")
    # an organiser starts the clock again: the model re-marks, the standings do not move
    second._append_now([SetClock(running=True), ClockTick(), ClockTick(), ClockTick()])
    head = second.next_seq - 1
    second.close()

    at_bell = results.standings(results.score(tmp_path, bell.final_seq))
    assert results.standings(results.score(tmp_path)) == at_bell
    assert at_bell["seq"] == bell.final_seq
    at_head = results.standings(results.score(tmp_path, head))
    assert at_head["seq"] == head
    [alpha] = at_bell["roles"]["hedge_fund"]
    assert alpha["pnl"] != at_head["roles"]["hedge_fund"][0]["pnl"]  # the freeze mattered
