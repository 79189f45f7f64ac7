"""The market and the core agree, and the world does not depend on who trades."""

from __future__ import annotations

from collections import Counter

from engine.config import load
from engine.core.exchange import Exchange
from engine.instruments import build
from engine.market import TickOutput
from engine.market.simulator import Market
from engine.records import (
    ChangePhase,
    ClockTick,
    Command,
    Event,
    OrderRejected,
    StartSession,
    stamp,
)

NANOS = 1_000_000_000
NO_NEWS = {"mean_gap_sim_seconds": 1e15}


class View:
    """Flat, or holding ``held`` contracts of every instrument in every team."""

    def __init__(self, held: int = 0) -> None:
        self.held = held

    def best_bid(self, instrument_id: str) -> tuple[int, int] | None:
        return None

    def best_ask(self, instrument_id: str) -> tuple[int, int] | None:
        return None

    def position(self, team_id: str, instrument_id: str) -> int:
        return self.held

    def total_position(self, team_id: str) -> int:
        return 4 * self.held


def run(
    ticks: int, seed: int = 1, view: View | None = None, **overrides: object
) -> list[TickOutput]:
    config = load(None, **overrides)
    m = Market(config, seed, build(config))
    return [m.on_tick(t, "continuous", view or View()) for t in range(1, ticks + 1)]


def test_the_core_refuses_nothing_the_simulated_teams_send() -> None:
    config = load(None)
    core = Exchange(config, 11, "t")
    seq, now = 0, 1_000 * NANOS

    def apply(command: Command) -> list[Event]:
        nonlocal seq, now
        seq, now = seq + 1, now + NANOS
        events = core.apply(stamp(command, seq, now))
        seq += len(events)
        return events

    apply(StartSession(session_id="t", seed=11, config="{}", config_hash="h"))
    refused: Counter[tuple[str | None, str]] = Counter()
    for phase, ticks in (("pre_open", 5), ("continuous", 1_500)):
        apply(ChangePhase(phase=phase))
        for _ in range(ticks):
            for event in apply(ClockTick()):
                if isinstance(event, OrderRejected):
                    refused[(event.team_id, event.code)] += 1
            for team in core.teams.values():
                if team.role == "retail":
                    assert team.total_position() <= config.retail.max_position
    assert not refused


def test_prices_news_and_signals_do_not_depend_on_the_flow() -> None:
    flat = run(600, seed=8, news={"mean_gap_sim_seconds": 1200.0})
    loaded = run(600, seed=8, view=View(held=12), news={"mean_gap_sim_seconds": 1200.0})
    assert [o.orders for o in flat] != [o.orders for o in loaded]
    for a, b in zip(flat, loaded, strict=True):
        assert (a.spx, a.spy, a.regime, a.fair, a.news) == (b.spx, b.spy, b.regime, b.fair, b.news)
        assert (a.vol_forecasts, a.tracking, a.quotes) == (b.vol_forecasts, b.tracking, b.quotes)


def test_a_regime_shift_headline_sets_the_regime_of_its_tick() -> None:
    outputs = run(3_000, seed=2, news={"mean_gap_sim_seconds": 60.0}, retail={"enabled": False})
    shifts = [(o, n) for o in outputs for n in o.news if n.effect == "regime_shift"]
    assert len(shifts) > 300
    assert all(o.regime == n.new_regime for o, n in shifts)


def test_every_regime_change_gets_exactly_one_forecast() -> None:
    fast = {
        "low": (0.7, 0.15, 0.15),
        "medium": (0.15, 0.7, 0.15),
        "high": (0.15, 0.15, 0.7),
    }
    outputs = run(
        3_000, seed=5, regimes={"transitions": fast}, news=NO_NEWS, retail={"enabled": False}
    )
    regimes = ["medium"] + [o.regime for o in outputs]  # index = tick
    changes = {t for t in range(7, len(regimes)) if regimes[t] != regimes[t - 1]}
    announced = Counter(
        t + f.ticks_until_change for t, o in enumerate(outputs, 1) for f in o.vol_forecasts
    )
    assert len(changes) > 700
    assert all(announced[t] == 1 for t in changes)
    assert all(regimes[t] != regimes[t - 1] for t in announced if t < len(regimes))
