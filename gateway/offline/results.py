"""``tradepit results DIR``: the final standings per role, from the scorer folded over the log.

The same fold as the live gateway and ``replay inspect``, run to the log's end (or to
``--at-seq``); after the closing bell, to the bell's seq, where the standings are
frozen (``--at-seq`` still picks any other). A table by default; ``--format csv|json``
for files. Every output names the session id, seed and config hash it came from.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from engine import log as logmod
from engine.records import CompetitionEnded
from gateway import scoring

COLUMNS = ("role", "rank", "team_id", "team_name", "score", "pnl", "penalties", "bonuses",
           "requirements_met", "unmet", "disabled", "max_drawdown", "sharpe",
           "volume")  # fmt: skip
#: What the ranks mean under each ``[scoring] unmet_requirement``, for the table's header
POLICY = {
    "rank_after": "an unmet requirement ranks after every team that met its requirements",
    "flag": "an unmet requirement is flagged, the rank is by score",
}
KPI_COLUMNS = ("uptime", "breaches", "delta_penalty", "balance_breaches", "signal_pnl")


def score(data_dir: Path, at_seq: int | None = None) -> scoring.Scorer:
    """The scorer folded over the log, to ``at_seq``; by default to the closing bell if it
    rang (the standings are frozen there, as the gateways show them), else to the end."""
    scorer = scoring.Scorer()
    with logmod.open_reader(logmod.log_directory(data_dir)) as reader:
        end = reader.head_seq if at_seq is None else at_seq
        if not 1 <= end <= reader.head_seq:
            raise logmod.LogError(f"seq {end} is outside the log (1..{reader.head_seq})")
        apply = scorer.apply
        for record in reader.read(1, end):
            apply(record)
            if at_seq is None and type(record) is CompetitionEnded:
                break
    return scorer


def standings(scorer: scoring.Scorer) -> dict[str, Any]:
    board = {**scoring.leaderboard(scorer), "seed": scorer.seed}
    if scorer.fork is not None or scorer.late_ticks:
        # a fork names its parent; a lockstep session, the ticks each bot ran out of time
        fork = scorer.fork
        if fork is not None:
            board["fork"] = {"parent_session_id": fork.parent_session_id,
                             "parent_seq": fork.parent_seq, "others": fork.others}  # fmt: skip
        board["late_ticks"] = dict(scorer.late_ticks)
    return board


def flat(board: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for role, teams in board["roles"].items():
        for t in teams:
            row = {k: t.get(k) for k in COLUMNS}
            row["role"] = role
            row["unmet"] = ";".join(t["unmet"])
            row |= {k: t["kpis"].get(k) for k in KPI_COLUMNS}
            rows.append(row)
    return rows


def render(board: dict[str, Any], out: TextIO) -> None:
    out.write(
        f"session {board['session_id']}  seed {board['seed']}  config {board['config_hash']}\n"
        f"as of seq {board['seq']}, tick {board['tick_number']}\n"
    )
    policy = POLICY.get(board.get("unmet_requirement", "flag"), "")
    out.write(f"ranks: {policy}; a disabled team ranks last in its role\n")
    for role, teams in board["roles"].items():
        if not teams:
            continue
        out.write(f"\n{role}\n")
        out.write(f"  {'rank':>4}  {'team':<24} {'score':>14} {'P&L':>14} {'penalties':>11}"
                  f" {'bonuses':>9}  KPIs\n")  # fmt: skip
        for t in teams:
            k = t["kpis"]
            if role == "market_maker":
                kpi = f"uptime {k['uptime']}  breaches {k['breaches']}"
            elif role == "hedge_fund":
                kpi = f"delta {k['delta']}  delta penalty {k['delta_penalty']:.2f}"
            elif role == "arbitrage":
                kpi = f"balance breaches {k['balance_breaches']}  signal P&L {k['signal_pnl']:.2f}"
            else:
                kpi = ""
            flag = "" if t["requirements_met"] else f"  UNMET: {', '.join(t['unmet'])}"
            if t.get("disabled"):
                flag += "  DISABLED"
            out.write(
                f"  {t['rank']:>4}  {t['team_name'][:24]:<24} {t['score']:>14.2f} {t['pnl']:>14.2f}"
                f" {t['penalties']:>11.2f} {t['bonuses']:>9.2f}  {kpi}{flag}\n"
            )


def write(board: dict[str, Any], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(json.dumps(board, indent=1) + "\n")
    elif fmt == "csv":
        out.write(f"# session {board['session_id']} seed {board['seed']} "
                  f"config {board['config_hash']} seq {board['seq']} "
                  f"unmet_requirement {board.get('unmet_requirement')}\n")  # fmt: skip
        writer = csv.DictWriter(out, fieldnames=[*COLUMNS, *KPI_COLUMNS], lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat(board))
    else:
        render(board, out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", type=Path, help="a session directory (or its log/)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument(
        "--at-seq",
        type=int,
        default=None,
        help="standings as of this seq (default: the closing bell, else the end)",
    )
    parser.add_argument("--output", type=Path, default=None, help="write here, not stdout")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    try:
        board = standings(score(args.data_dir, args.at_seq))
    except logmod.LogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        with args.output.open("w", encoding="utf-8", newline="") as f:
            write(board, args.format, f)
    else:
        write(board, args.format, out or sys.stdout)
    return 0
