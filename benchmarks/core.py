"""``./scripts/bench core``: commands/s through ``Exchange.apply`` on a realistic mix.

60% limit, 15% market, 20% cancel, 5% quote over the 22 default instruments, starting
from 1000 resting orders; then the same with every event encoded for the log, and, as
this run's baseline, through the plain-Python core (``engine/native.py``). Generous limits
and no simulated flow, so what is measured is the matching, not refusals. Limit orders
rest behind the touch (35%) or cross it; a cancel takes back one of its team's orders,
which may have filled meanwhile. The book stays in the low thousands of orders.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from random import Random

import engine.core
from engine import native
from engine.config import load
from engine.core.exchange import Exchange
from engine.instruments import build
from engine.market import MarketView, SimTeam, TickOutput
from engine.order_types import ORDER_TYPES, QUOTE
from engine.records import (
    CancelOrder,
    ChangePhase,
    Command,
    OrderCancelled,
    OrderRejected,
    RegisterTeam,
    StartSession,
    SubmitOrder,
    SubmitQuote,
    encode,
    stamp,
)

TEAMS = 40
RESTING = 1000
PASSIVE = 0.35  # share of limit orders placed behind the touch


class QuietMarket:
    """No simulated flow: only the commands under test reach the book."""

    def __init__(self, *_: object) -> None:
        pass

    def teams(self) -> tuple[SimTeam, ...]:
        return ()

    def fair(self) -> dict[str, int]:
        return {}

    def on_tick(self, tick_number: int, phase: str, view: MarketView) -> TickOutput:
        return TickOutput(spx=0, spy=0, regime="medium", fair={})


def commands(count: int, seed: int = 1) -> tuple[Exchange, list[Command], list[Command]]:
    roles = {
        role: {
            "maker_fee": fees[0],
            "taker_fee": fees[1],
            "limit_per_option": None,
            "limit_per_underlying": None,
            "total_limit": 10**9,
            "orders_per_second": 10**9,
            "max_order_size": 1000,
            "order_types": [*ORDER_TYPES, QUOTE],
        }
        for role, fees in {
            "market_maker": (2, -1),
            "hedge_fund": (1, -2),
            "arbitrage": (1, -2),
            "retail": (-1, -3),
        }.items()
    }
    config = load(None, roles=roles, house={"enabled": False}, retail={"enabled": False})
    core = Exchange(config, 1, "bench", market=QuietMarket)
    instruments = list(build(config))
    rng = Random(seed)
    setup: list[Command] = [StartSession(session_id="bench", seed=1, config="{}", config_hash="")]
    setup += [
        RegisterTeam(team_name=f"team-{i}", role="market_maker", api_key_hash=f"k{i}")
        for i in range(TEAMS)
    ]
    setup.append(ChangePhase(phase="continuous"))
    teams = [f"TEAM_{i:04d}" for i in range(1, TEAMS + 1)]
    mid = {iid: 10_000 + 100 * n for n, iid in enumerate(instruments)}

    def limit(passive: bool) -> SubmitOrder:
        iid = rng.choice(instruments)
        buy = rng.random() < 0.5
        offset = rng.randint(1, 10) if passive else -rng.randint(0, 10)
        price = mid[iid] - offset if buy else mid[iid] + offset
        return SubmitOrder(
            team_id=rng.choice(teams),
            instrument_id=iid,
            side="buy" if buy else "sell",
            quantity=rng.randint(1, 20),
            order_type="limit",
            price=price,
        )

    setup += [limit(passive=True) for _ in range(RESTING)]
    # Ids are counters, so the generator knows which order each accepted submission
    # gets. A cancel takes back one of its team's limit orders at random, which may
    # have filled meanwhile (a cancel racing a fill: ORDER_NOT_FOUND).
    placed = [c for c in setup if isinstance(c, SubmitOrder)]
    mine: dict[str, list[int]] = {team: [] for team in teams}
    for number, c in enumerate(placed, 1):
        mine[c.team_id].append(number)
    next_id = len(placed)
    mix: list[Command] = []
    for _ in range(count):
        u = rng.random()
        if u < 0.60:
            order = limit(passive=rng.random() < PASSIVE)
            next_id += 1
            mine[order.team_id].append(next_id)
            mix.append(order)
        elif u < 0.75:
            next_id += 1
            mix.append(
                SubmitOrder(
                    team_id=rng.choice(teams),
                    instrument_id=rng.choice(instruments),
                    side=rng.choice(("buy", "sell")),
                    quantity=rng.randint(1, 10),
                    order_type="market",
                )
            )
        elif u < 0.95:
            team = rng.choice(teams)
            ids = mine[team]
            if ids:  # one of its orders at random (swap-pop keeps this O(1))
                pick = rng.randrange(len(ids))
                ids[pick], ids[-1] = ids[-1], ids[pick]
            target = ids.pop() if ids else next_id
            mix.append(CancelOrder(team_id=team, order_id=f"ORD_{target:08d}"))
        else:
            iid = rng.choice(instruments)
            team = rng.choice(teams)
            next_id += 2
            mix.append(
                SubmitQuote(
                    team_id=team,
                    instrument_id=iid,
                    bid_price=mid[iid] - 20,
                    bid_size=5,
                    ask_price=mid[iid] + 20,
                    ask_size=5,
                )
            )
    return core, setup, mix


def stamped(cmds: list[Command], start: int) -> list[Command]:
    return [stamp(c, start + i * 1000, 10**18 + i * 1000) for i, c in enumerate(cmds)]


def prepared(count: int) -> tuple[Exchange, list[Command]]:
    """A core with the setup applied, and the stamped mix to time."""
    core, setup, mix = commands(count)
    seq = 1
    for command in setup:
        seq += 1 + len(core.apply(stamp(command, seq, seq)))
    return core, stamped(mix, seq)  # seqs spaced so events fit between commands


def measure(count: int, encode_events: bool) -> tuple[float, int]:
    core, batch = prepared(count)
    resting = len(core.orders)
    started = time.perf_counter()
    if encode_events:
        for command in batch:
            for event in core.apply(command):
                encode(event)
    else:
        for command in batch:
            core.apply(command)
    elapsed = time.perf_counter() - started
    return count / elapsed, resting


def outcomes(count: int) -> dict[str, int]:
    """What the timed mix does, counted on an untimed run of the same commands."""
    core, batch = prepared(count)
    kinds: Counter[str] = Counter()
    for command in batch:
        for event in core.apply(command):
            if isinstance(event, OrderCancelled):
                kinds[f"cancelled_{event.reason}"] += 1
            elif isinstance(event, OrderRejected):
                kinds[f"rejected_{event.code}"] += 1
            else:
                kinds[type(event).__name__] += 1
    kinds["resting_at_end"] = len(core.orders)
    return dict(sorted(kinds.items()))


def pure_rate(count: int) -> float:
    """The same mix through the plain-Python core, in a process that does not load the
    compiled one: the baseline of this run."""
    code = f"from benchmarks.core import measure; print(measure({count}, False)[0])"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "TRADEPIT_PURE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def run(quick: bool) -> dict[str, object]:
    count = 50_000 if quick else 200_000
    rate, resting = measure(count, encode_events=False)
    rate_encoded, _ = measure(count, encode_events=True)
    rate_pure = pure_rate(count) if engine.core.NATIVE else rate
    mix = outcomes(count)
    figures: dict[str, object] = {
        "commands": count,
        "core": "compiled (mypyc)" if engine.core.NATIVE else f"plain Python: {native.why_not()}",
        "resting_orders_at_start": resting,
        "apply_per_s": round(rate),
        "apply_and_encode_per_s": round(rate_encoded),
        "apply_per_s_plain_python": round(rate_pure),
        "outcomes": mix,
        "target_apply_per_s": 200_000,
    }
    print(f"core: {figures['core']}")
    print(f"{'what':<32}{'commands/s':>14}")
    print(f"{'apply':<32}{figures['apply_per_s']:>14,}")
    print(f"{'apply + encode events':<32}{figures['apply_and_encode_per_s']:>14,}")
    print(f"{'apply, plain Python':<32}{figures['apply_per_s_plain_python']:>14,}")
    print(f"resting at start: {resting}; outcomes of the mix: {mix}")
    return figures
