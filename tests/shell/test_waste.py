"""The engine's waste budget: one bucket per team whatever gateway a write came through."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from engine import config as configmod
from engine.records import (
    CancelOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    RegisterTeam,
    SubmitOrder,
    TeamRegistered,
)
from engine.shell.waste import WasteBudget, wasted
from gateway.upstream.engine_client import EngineClient, EngineUnavailable
from tests.shell.test_sequencer import CONFIG, make_engine, order, recorded

SECOND = 1_000_000_000


def accepted(duplicate: bool = False) -> OrderAccepted:
    return OrderAccepted(
        team_id="T1", order_id="ORD_1", instrument_id="SPY", side="buy", order_type="limit",
        price=100, quantity=1, duplicate=duplicate,
    )  # fmt: skip


def test_what_counts_as_waste() -> None:
    placed = order("T1")
    rejected = OrderRejected(team_id="T1", code="INVALID_PRICE", message="no")
    cancel = CancelOrder(team_id="T1", order_id="ORD_1")
    cancelled = OrderCancelled(
        team_id="T1", order_id="ORD_1", instrument_id="SPY", side="buy", cancelled_quantity=1,
        reason="requested",
    )  # fmt: skip
    assert not wasted(placed, [accepted()])
    assert wasted(placed, [accepted(duplicate=True)])
    assert wasted(placed, [rejected])
    assert wasted(cancel, [])
    assert not wasted(cancel, [cancelled])


def test_the_bucket_holds_the_burst_and_refills_at_the_role_rate() -> None:
    budget = WasteBudget(CONFIG)
    rate = CONFIG.roles["hedge_fund"].orders_per_second
    burst = int(rate * CONFIG.gateway.budget_burst_seconds)
    cancel, now = CancelOrder(team_id="T1", order_id="ORD_9"), 10 * SECOND
    for _ in range(burst):
        assert budget.retry_after(cancel, "hedge_fund", now) is None
        budget.spend(cancel, [], now)
    wait = budget.retry_after(cancel, "hedge_fund", now)
    assert wait == pytest.approx(1 / rate)
    # useful writes drain nothing; another team has its own bucket
    other = CancelOrder(team_id="T2", order_id="ORD_9")
    assert budget.retry_after(other, "hedge_fund", now) is None
    assert budget.retry_after(cancel, "hedge_fund", now + SECOND // rate + 1) is None
    assert budget.refused == 1


def test_commands_that_are_not_a_teams_writes_are_never_metered() -> None:
    budget = WasteBudget(CONFIG)
    register = RegisterTeam(team_name="alpha", role="hedge_fund", api_key_hash="h")
    for _ in range(1000):
        assert budget.retry_after(register, None, SECOND) is None


async def test_wasted_writes_beyond_the_burst_are_refused_unsequenced(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    rate = CONFIG.roles["hedge_fund"].orders_per_second
    burst = int(rate * CONFIG.gateway.budget_burst_seconds)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.serve, "127.0.0.1", 0, False)
        # two clients: two gateways, one budget
        clients = [EngineClient(tmp_path, reconnect_delay=0.01) for _ in range(2)]
        for client in clients:
            await nursery.start(client.run)
        with trio.fail_after(10):
            for client in clients:
                await client.connected.wait()
            reply = await clients[0].request(
                RegisterTeam(team_name="flood", role="hedge_fund", api_key_hash="h")
            )
            [team] = reply.events
            assert isinstance(team, TeamRegistered)
            codes, waits = [], []
            for n in range(3 * burst):
                cancel = CancelOrder(team_id=team.team_id, order_id=f"ORD_{90_000_000 + n}")
                try:
                    await clients[n % 2].request(cancel)
                    codes.append("sequenced")
                except EngineUnavailable as exc:
                    codes.append(exc.code)
                    waits.append(exc.retry_after)
        nursery.cancel_scope.cancel()
    assert codes == ["sequenced"] * burst + ["RATE_LIMIT_EXCEEDED"] * (2 * burst)
    assert all(wait is not None and wait > 0 for wait in waits)
    logged = [r for r in recorded(tmp_path) if isinstance(r, CancelOrder)]
    assert len(logged) == burst
    assert not any(isinstance(r, SubmitOrder) for r in recorded(tmp_path))
    assert configmod.config_hash(engine.config) == configmod.config_hash(CONFIG)
