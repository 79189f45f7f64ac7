"""The scorer's figures as JSON-ready dicts: the leaderboard, a team's score with its
series, one ``score_update``, and flat per-tick rows. Money in dollars (from exact
cents) at this edge only.
"""

from __future__ import annotations

import math
from typing import Any

from engine.money import to_dollars as _dollars
from engine.records import ROLES
from gateway.scoring.fold import Scorer
from gateway.scoring.ranking import ranked, standing
from gateway.scoring.team_score import TeamScore


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 6)


def sharpe(team: TeamScore) -> float | None:
    """mean / std x sqrt(ticks) of the per-tick P&L changes (sample std); None if undefined."""
    n = team.samples
    if n < 2:
        return None
    spread = n * team.sum_change_sq - team.sum_change**2  # n^2 x variance, exactly
    if spread <= 0:
        return None
    std = math.sqrt(spread / (n * (n - 1)))
    return round(team.sum_change / n / std * math.sqrt(n), 6)


def uptime(scorer: Scorer, team: TeamScore) -> float | None:
    if not team.kpi_ticks:
        return None
    return round(team.covered / (team.kpi_ticks * len(scorer.cover)), 6)


def unmet(scorer: Scorer, team: TeamScore) -> list[str]:
    """Requirements not met, shown beside the rank: a market maker's uptime (docs/scoring.md)."""
    if team.role != "market_maker" or not team.kpi_ticks:
        return []
    total = team.kpi_ticks * len(scorer.cover)
    if team.breaches or team.covered < scorer.min_uptime * total:
        return ["uptime"]
    return []


def role_kpis(scorer: Scorer, team: TeamScore) -> dict[str, Any]:
    s = scorer.settings
    if team.role == "market_maker":
        volume = scorer.total_volume
        return {
            "uptime": uptime(scorer, team),
            "coverage": _round(team.coverage),
            "min_uptime": s.mm_min_uptime,
            "instruments_to_cover": len(scorer.cover),
            "window_ticks": scorer.window_ticks,
            "breaches": team.breaches,
            "relieved": team.relieved,
            "breach_penalty": _dollars(team.breach_penalty),
            "inventory_penalty": _dollars(team.inventory_penalty),
            "fee_revenue": _dollars(team.fees),
            "volume_share": round(team.volume / volume, 6) if volume else None,
            "spread_captured": _dollars(team.spread_captured),
        }
    if team.role == "hedge_fund":
        return {
            "delta": _round(team.delta),
            "delta_limit": s.hf_delta_limit,
            "delta_penalty": _dollars(team.delta_penalty),
            "hedge_pnl": _dollars(scorer.hedge_pnl(team)),
            "forecast_pnl": _dollars(team.forecast_pnl),
            "pnl_since_news": _dollars(scorer.pnl(team) - team.news_base),
        }
    if team.role == "arbitrage":
        return {
            "balance_breaches": team.balance_breaches,
            "balance_penalty": _dollars(team.balance_penalty),
            "signal_pnl": _dollars(scorer.signal_pnl(team)),
            "signal_bonus": _dollars(team.signal_bonus),
            "signals_traded": team.signals_traded,
        }
    return {}


def figures(scorer: Scorer, team: TeamScore, rank: int | None) -> dict[str, Any]:
    pnl = scorer.pnl(team)
    missing = unmet(scorer, team)
    return {
        "rank": rank,
        "team_id": team.team_id,
        "team_name": team.team_name,
        "role": team.role,
        "score": _dollars(pnl - team.penalties + team.bonuses),
        "pnl": _dollars(pnl),
        "penalties": _dollars(team.penalties),
        "bonuses": _dollars(team.bonuses),
        "requirements_met": not missing,
        "unmet": missing,
        "realised_pnl": _dollars(team.realised + team.fees),
        "fees": _dollars(team.fees),
        "cash": _dollars(team.cash),
        "volume": team.volume,
        "trades": team.trades,
        "position": sum(abs(q) for q in team.positions.values()),
        "positions": dict(team.positions),
        "delta": _round(team.delta),
        "max_drawdown": _dollars(team.max_drawdown),
        "sharpe": sharpe(team),
        "ticks": team.samples,
        "kpis": role_kpis(scorer, team),
        "disabled": team.disabled,
    }


def ranked_by_role(scorer: Scorer) -> dict[str, list[tuple[int, str, int]]]:
    """Per role, (rank, team id, score) best first: by standing (requirements met, unmet
    under ``[scoring] unmet_requirement = "rank_after"``, disabled last), then score."""
    policy = scorer.settings.unmet_requirement
    by_role: dict[str, list[tuple[str, int]]] = {}
    groups: dict[str, int] = {}
    for team in scorer.teams.values():
        by_role.setdefault(team.role, []).append((team.team_id, scorer.score(team)))
        groups[team.team_id] = standing(not unmet(scorer, team), team.disabled, policy)
    return {role: ranked(pairs, groups) for role, pairs in by_role.items()}


def ranks(scorer: Scorer) -> dict[str, int]:
    """Every team's rank within its role."""
    return {team_id: rank for rows in ranked_by_role(scorer).values() for rank, team_id, _ in rows}


def _as_of(scorer: Scorer) -> dict[str, Any]:
    return {
        "seq": scorer.seq,
        "tick_number": scorer.tick_number,
        "sample_seq": scorer.sample_seq,
        "session_id": scorer.session_id,
        "config_hash": scorer.config_hash,
    }


def leaderboard(scorer: Scorer) -> dict[str, Any]:
    """Per role, the teams by rank with their figures, as of the scorer's seq and tick."""
    roles: dict[str, list[dict[str, Any]]] = {role: [] for role in ROLES}
    for role, rows in ranked_by_role(scorer).items():
        roles.setdefault(role, [])
        for rank, team_id, _ in rows:
            roles[role].append(figures(scorer, scorer.teams[team_id], rank))
    # the ranking policy rides along, so that a reader of any copy can tell what the
    # ranks mean: disabled teams always rank last in their role
    policy = scorer.settings.unmet_requirement
    return {**_as_of(scorer), "unmet_requirement": policy, "roles": roles}


def series(team: TeamScore) -> dict[str, list[Any]]:
    s = team.series
    return {
        "tick": list(s.tick),
        "seq": list(s.seq),
        "pnl": [_dollars(c) for c in s.pnl],
        "score": [_dollars(c) for c in s.score],
        "position": list(s.position),
        "delta": [_round(d) for d in s.delta],
        "coverage": [_round(c) for c in s.coverage],
    }


def team_score(scorer: Scorer, team_id: str) -> dict[str, Any]:
    team = scorer.teams[team_id]
    rank = ranks(scorer).get(team_id)
    return {**_as_of(scorer), **figures(scorer, team, rank), "series": series(team)}


def update(scorer: Scorer, team: TeamScore, rank: int | None) -> dict[str, Any]:
    """The data of one ``score_update``: the team's figures as of this tick's sample."""
    return {
        "tick_number": scorer.tick_number,
        "as_of_seq": scorer.sample_seq,
        **figures(scorer, team, rank),
    }


def rows(scorer: Scorer) -> list[dict[str, Any]]:
    """One flat row per team and tick, for pandas/polars (``replay export --what scores``)."""
    out: list[dict[str, Any]] = []
    for team in scorer.teams.values():
        s = team.series
        columns = zip(s.tick, s.seq, s.pnl, s.score, s.position, s.delta, s.coverage, strict=True)
        for tick, seq, pnl, score, position, delta, coverage in columns:
            out.append(
                {
                    "team_id": team.team_id,
                    "team_name": team.team_name,
                    "role": team.role,
                    "tick": tick,
                    "seq": seq,
                    "pnl": _dollars(pnl),
                    "score": _dollars(score),
                    "position": position,
                    "delta": _round(delta),
                    "coverage": _round(coverage),
                }
            )
    return out
