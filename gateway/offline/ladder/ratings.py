"""Ratings: the stored heats folded into openskill ratings, one version of a bot each.

A heat ranks its teams within each role (a market maker's score and a hedge fund's are
not the same kind of number); each role with two rated teams or more is one openskill
match of single-player teams (Plackett-Luce, made for several teams at once). A bot
shown in the table is ranked by the conservative figure ``mu - 3 sigma`` (openskill's
``ordinal``), which only rises once a bot has played enough for its sigma to shrink.

Nothing here is kept that the heats do not say: ``fold`` over ``DIR/heats/*/heat.json``
in heat order is the table, and the runner's incremental fold after each heat is the
same computation, so ``--recompute`` gives the same table (a test checks it).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openskill.models import PlackettLuce, PlackettLuceRating


@dataclass
class Standing:
    key: str  # name@version
    name: str
    role: str
    rating: PlackettLuceRating
    games: int = 0  # rated matches with at least one opponent of its role
    heats: int = 0  # ranked heats it played (what the scheduler counts)
    wins: int = 0
    failures: int = 0
    last_failure: str | None = None
    recent: list[int] = field(default_factory=list)  # the last heats' numbers

    @property
    def conservative(self) -> float:
        return float(self.rating.ordinal())


MODEL = PlackettLuce()


def heats_of(root: Path) -> list[dict[str, Any]]:
    """Every stored ranked heat, in heat-number order."""
    found = []
    for path in sorted((root / "heats").glob("heat-*/heat.json")):
        found.append(json.loads(path.read_text(encoding="utf-8")))
    return sorted(found, key=lambda h: int(h["number"]))


def fold(heats: Iterable[dict[str, Any]]) -> dict[str, Standing]:
    table: dict[str, Standing] = {}
    for heat in heats:
        apply(table, heat)
    return table


def apply(table: dict[str, Standing], heat: dict[str, Any]) -> None:
    if not heat.get("rated", True):
        return
    by_role: dict[str, list[dict[str, Any]]] = {}
    for team in heat["teams"]:
        key = f"{team['name']}@{team['version']}"
        st = table.get(key)
        if st is None:
            st = table[key] = Standing(key, team["name"], team["role"], MODEL.rating(name=key))
        st.heats += 1
        st.recent = [*st.recent, int(heat["number"])][-10:]
        if team.get("failed"):
            st.failures += 1
            st.last_failure = f"heat {heat['number']}: {team['failed']}"
        if team.get("rated", True):
            by_role.setdefault(team["role"], []).append(team)
    for role in sorted(by_role):
        teams = sorted(by_role[role], key=lambda t: (t["rank"], t["name"]))
        if len(teams) < 2:
            continue  # alone in its role: nothing to learn about it
        keys = [f"{t['name']}@{t['version']}" for t in teams]
        rated = MODEL.rate([[table[k].rating] for k in keys], ranks=[t["rank"] for t in teams])
        for k, (new,), t in zip(keys, rated, teams, strict=True):
            table[k].rating = new
            table[k].games += 1
            table[k].wins += t["rank"] == 1 and not t.get("failed")


def rows(table: dict[str, Standing], current: set[str] | None = None) -> list[dict[str, Any]]:
    """The table, best first: the conservative figure, then mu, then the name.

    ``current``: only these versions (the roster's); old versions stay in the fold."""
    shown = [s for s in table.values() if current is None or s.key in current]
    shown.sort(key=lambda s: (-round(s.conservative, 9), -round(s.rating.mu, 9), s.key))
    out = []
    for place, s in enumerate(shown, 1):
        out.append({
            "place": place, "name": s.name, "version": s.key.split("@", 1)[1], "role": s.role,
            "rating": round(s.conservative, 3), "mu": round(s.rating.mu, 3),
            "sigma": round(s.rating.sigma, 3), "games": s.games, "heats": s.heats,
            "wins": s.wins, "failures": s.failures, "last_failure": s.last_failure,
            "recent_heats": s.recent,
        })  # fmt: skip
    return out


def render(table_rows: list[dict[str, Any]]) -> str:
    lines = [f"{'#':>3}  {'bot':<22} {'role':<13} {'mu-3σ':>8} {'mu':>7} {'σ':>6}"
             f" {'games':>5} {'fails':>5}  last failure"]  # fmt: skip
    for r in table_rows:
        lines.append(
            f"{r['place']:>3}  {r['name'][:22]:<22} {r['role']:<13} {r['rating']:>8.2f}"
            f" {r['mu']:>7.2f} {r['sigma']:>6.2f} {r['games']:>5} {r['failures']:>5}"
            f"  {r['last_failure'] or ''}"
        )
    return "\n".join(lines)


def order_sensitivity(heats: list[dict[str, Any]], orders: int, seed: int) -> int:
    """The most places any bot moves in the table when the same heats are folded in
    ``orders`` shuffled orders (``Random(seed)``): the figure the issue asks for."""
    base = {r["name"] + "@" + r["version"]: r["place"] for r in rows(fold(heats))}
    rng = random.Random(seed)
    worst = 0
    for _ in range(orders):
        shuffled = list(heats)
        rng.shuffle(shuffled)
        for r in rows(fold(shuffled)):
            worst = max(worst, abs(r["place"] - base[r["name"] + "@" + r["version"]]))
    return worst
