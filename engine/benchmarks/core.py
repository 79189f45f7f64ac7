"""``./scripts/bench core``: commands/s through ``Exchange.apply`` on a realistic mix.

60% limit, 15% market, 20% cancel, 5% quote over the 22 default instruments, with about
1000 orders resting; then the same with every event encoded for the log. Generous
limits and no simulated flow, so what is measured is the matching, not refusals.
"""

from __future__ import annotations

import time
from random import Random

from engine.config import load
from engine.exchange import Exchange
from engine.instruments import build
from engine.market import MarketView, SimTeam, TickOutput
from engine.records import (
    CancelOrder,
    ChangePhase,
    Command,
    OrderAccepted,
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
            "order_types": ["limit", "market", "quote"],
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
        offset = rng.randint(1, 40) if passive else -rng.randint(0, 10)
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
    mix: list[Command] = []
    next_order = RESTING + 1
    for _ in range(count):
        u = rng.random()
        if u < 0.60:
            mix.append(limit(passive=rng.random() < 0.8))
        elif u < 0.75:
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
            target = rng.randint(max(1, next_order - 2000), next_order)
            mix.append(CancelOrder(team_id=rng.choice(teams), order_id=f"ORD_{target:08d}"))
        else:
            iid = rng.choice(instruments)
            mix.append(
                SubmitQuote(
                    team_id=rng.choice(teams),
                    instrument_id=iid,
                    bid_price=mid[iid] - 20,
                    bid_size=5,
                    ask_price=mid[iid] + 20,
                    ask_size=5,
                )
            )
        next_order += 1
    return core, setup, mix


def stamped(cmds: list[Command], start: int) -> list[Command]:
    return [stamp(c, start + i * 1000, 10**18 + i * 1000) for i, c in enumerate(cmds)]


def measure(count: int, encode_events: bool) -> tuple[float, int, int, int]:
    core, setup, mix = commands(count)
    seq = 1
    for command in setup:
        seq += 1 + len(core.apply(stamp(command, seq, seq)))
    batch = stamped(mix, seq)  # seqs spaced so events fit between commands
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
    # what the mix did, from a sample run after the timing
    events = [core.apply(c) for c in stamped(mix[:2000], seq + count * 1000 + 10)]
    ok = sum(isinstance(e, OrderAccepted) for es in events for e in es)
    refused = sum(isinstance(e, OrderRejected) for es in events for e in es)
    return count / elapsed, resting, ok, refused


def run(quick: bool) -> dict[str, object]:
    count = 50_000 if quick else 200_000
    rate, resting, ok, refused = measure(count, encode_events=False)
    rate_encoded, _, _, _ = measure(count, encode_events=True)
    figures: dict[str, object] = {
        "commands": count,
        "resting_orders_at_start": resting,
        "apply_per_s": round(rate),
        "apply_and_encode_per_s": round(rate_encoded),
        "sample_accepted": ok,
        "sample_rejected": refused,
        "target_apply_per_s": 200_000,
    }
    print(f"{'what':<32}{'commands/s':>14}")
    print(f"{'apply':<32}{figures['apply_per_s']:>14,}")
    print(f"{'apply + encode events':<32}{figures['apply_and_encode_per_s']:>14,}")
    print(
        f"resting at start: {resting}; in a 2000-command sample: {ok} accepted, {refused} rejected"
    )
    return figures
