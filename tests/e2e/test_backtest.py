"""``tradepit backtest`` with real processes: fork a recorded session, serve it, run an
example bot through REST and WebSocket in lockstep, and check what it leaves behind.

The budgets are generous (30 s a tick) wherever the log must not depend on the
machine's speed: a tick that ran out of budget would write a ``tick_budget_expired``
record that a faster run would not. The one test about budgets uses a bot that never
answers, so every tick ends on its budget whatever the machine.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import log as logmod
from engine.records import ForkSession, SubmitOrder, TeamRegistered, TickBudgetExpired
from engine.replay.verify import verify
from tests.e2e.server import ROOT

REPLAYS = ROOT / "replays"
NEWS = REPLAYS / "news-signals"
HEDGE_FUND = f"{sys.executable} -m tradepit.examples.hedge_fund"


def head(path: Path) -> int:
    with logmod.open_reader(path / "log") as reader:
        return reader.head_seq


def backtest(out: Path, *args: str, timeout: float = 300) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "backtest", str(NEWS), "--out", str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr + _logs(out)
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    return report


def _logs(out: Path) -> str:
    return "".join(f"\n--- {p.name}\n{p.read_text()[-3000:]}" for p in out.glob("*.log"))


def records(path: Path) -> list[Any]:
    with logmod.open_reader(path / "log") as reader:
        return list(reader.read(1))


@pytest.fixture(scope="module")
def midpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("midpoint") / "run"
    at = head(NEWS) // 2
    report = backtest(out, "--bot", HEDGE_FUND, "--role", "hedge_fund", "--at-seq", str(at),
                      "--tick-budget", "30")  # fmt: skip
    return out, report


def test_the_example_hedge_fund_trades_a_fork_of_news_signals(
    midpoint: tuple[Path, dict[str, Any]],
) -> None:
    out, report = midpoint
    assert report["finished"], report
    assert report["late_ticks"] == 0
    assert report["fork"]["trades"] > 0  # it traded through the ordinary API
    # the forked session re-executes byte for byte, the parent's digest at N included
    text = io.StringIO()
    assert verify(out / "session", out=text) == 0, text.getvalue()
    board = json.loads((out / "results.json").read_text())
    ranked = {t["team_id"]: t["rank"] for t in board["roles"]["hedge_fund"]}
    assert ranked[report["team_id"]] >= 1
    assert board["fork"]["parent_session_id"] == "news-signals"
    assert board["session_id"] == "news-signals-fork"


def test_the_same_fork_and_the_same_bot_write_the_same_log(
    midpoint: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    first, _ = midpoint
    at = head(NEWS) // 2
    backtest(tmp_path / "again", "--bot", HEDGE_FUND, "--role", "hedge_fund",
             "--at-seq", str(at), "--tick-budget", "30")  # fmt: skip
    segments = sorted(p.name for p in (first / "session" / "log").glob("*.seg"))
    assert segments
    for name in segments:
        a = (first / "session" / "log" / name).read_bytes()
        b = (tmp_path / "again" / "session" / "log" / name).read_bytes()
        assert a == b, name


def test_everything_that_works_on_a_session_works_on_the_fork(
    midpoint: tuple[Path, dict[str, Any]],
) -> None:
    out, report = midpoint
    session = str(out / "session")

    def tradepit(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert tradepit("replay", "verify", session).startswith("OK: ")
    seq = head(out / "session")
    shown = json.loads(tradepit("replay", "inspect", session, "--at-seq", str(seq), "--json"))
    assert report["team_id"] in json.dumps(shown)
    assert report["team_id"] in tradepit("replay", "export", session, "--what", "trades")
    assert "bot-under-test" in tradepit("results", session)
    # and a fork of the fork
    assert tradepit("replay", "fork", session, str(out / "again"), "--at-seq", str(seq - 5))
    assert [type(r) for r in records(out / "again")].count(ForkSession) == 2
    assert tradepit("replay", "verify", str(out / "again")).startswith("OK: ")


@pytest.mark.slow
def test_a_bot_takes_over_a_recorded_team(tmp_path: Path) -> None:
    fund = next(r for r in records(NEWS) if isinstance(r, TeamRegistered)
                and r.team_name == "fund-bot")  # fmt: skip
    report = backtest(tmp_path / "run", "--bot", HEDGE_FUND, "--as", fund.team_id,
                      "--at-tick", "12", "--tick-budget", "30")  # fmt: skip
    assert report["finished"], report
    assert report["team_id"] == fund.team_id
    # its position and cash at the fork carry over: the original's figures at tick 12
    assert report["original"]["team_id"] == fund.team_id
    child = records(tmp_path / "run" / "session")
    fork_at = next(r.seq for r in child if isinstance(r, ForkSession))
    mine = [r for r in child if isinstance(r, SubmitOrder) and r.team_id == fund.team_id]
    # after the fork, only the bot under test trades as the team (client ids of the kit)
    assert all((r.client_order_id or "").startswith("bt") for r in mine if r.seq > fork_at)
    assert verify(tmp_path / "run" / "session", out=io.StringIO()) == 0


def test_a_bot_that_never_says_done_does_not_hang_the_backtest(tmp_path: Path) -> None:
    report = backtest(tmp_path / "run", "--bot", "sleep 600", "--role", "market_maker",
                      "--at-tick", "18", "--start-budget", "0.5", "--tick-budget", "0.2",
                      timeout=120)  # fmt: skip
    assert report["finished"], report
    # every tick from the fork's (18) to the last (23) waited its budget, then moved on
    assert report["ticks"] == 5
    assert report["late_ticks"] == 6
    late = [r for r in records(tmp_path / "run" / "session") if isinstance(r, TickBudgetExpired)]
    assert [r.tick_number for r in late] == [18, 19, 20, 21, 22, 23]
    assert "late ticks (budget ran out): 6" in (tmp_path / "run" / "report.txt").read_text()


def test_runs_differ_only_in_the_bots_seed(tmp_path: Path) -> None:
    # says what it was given, then that it is ready (so the session waits for it to
    # have said it), and never answers again: each later tick runs out of its budget
    bot = tmp_path / "bot.py"
    bot.write_text(
        "import json, os, signal, urllib.request\n"
        "env = {k: os.environ[k] for k in ('TRADEPIT_URL', 'TRADEPIT_WS_URL', 'TRADEPIT_SEED')}\n"
        "print(f\"url={env['TRADEPIT_URL']} ws={env['TRADEPIT_WS_URL']} \"\n"
        "      f\"seed={env['TRADEPIT_SEED']}\", flush=True)\n"
        "request = urllib.request.Request(env['TRADEPIT_URL'] + '/lockstep/done',\n"
        "    data=json.dumps({'tick_number': 21}).encode(), method='POST',\n"
        "    headers={'X-API-Key': os.environ['TRADEPIT_API_KEY']})\n"
        "urllib.request.urlopen(request).read()\n"
        "while True:\n"
        "    signal.pause()  # until the backtest stops it: no done, no timer\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "backtest", str(NEWS), "--out", str(tmp_path),
         "--bot", f"{sys.executable} {bot}", "--role", "retail", "--at-tick", "21",
         "--runs", "2", "--seed", "7", "--tick-budget", "0.2"],
        capture_output=True, text=True, cwd=ROOT, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for run, seed in (("run-1", 7), ("run-2", 8)):
        said = (tmp_path / run / "bot.log").read_text()
        assert f"seed={seed}" in said
        assert "url=http://127.0.0.1:" in said
        assert "/ws" in said
        assert json.loads((tmp_path / run / "report.json").read_text())["seed"] == seed
    # the bot never traded: both runs wrote the same log, the same ticks late
    assert json.loads((tmp_path / "run-1" / "report.json").read_text())["late_ticks"] == 2
    logs = [(tmp_path / run / "session" / "log").glob("*.seg") for run in ("run-1", "run-2")]
    first, second = ([p.read_bytes() for p in sorted(g)] for g in logs)
    assert first == second
