"""A tiny stand-in for the market simulation, and helpers to drive the core directly."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.config import Config, load
from engine.core.exchange import Exchange
from engine.instruments import Instrument
from engine.market import MarketView, SimOrder, SimQuote, SimTeam, TickOutput
from engine.records import (
    ChangePhase,
    Command,
    Event,
    OrderAccepted,
    RegisterTeam,
    StartSession,
    SubmitOrder,
    TeamRegistered,
    stamp,
)

NANOS = 1_000_000_000


class FakeMarket:
    """Fixed prices; orders and quotes only when a test scripts them."""

    def __init__(self, config: Config, seed: int, instruments: dict[str, Instrument]) -> None:
        self.instruments = instruments
        self.fair_values = dict.fromkeys(instruments, 2500)
        self.quotes: list[SimQuote] = []
        self.orders: list[SimOrder] = []
        self.sim_teams: tuple[SimTeam, ...] = ()

    def teams(self) -> tuple[SimTeam, ...]:
        return self.sim_teams

    def fair(self) -> dict[str, int]:
        return dict(self.fair_values)

    def on_tick(self, tick_number: int, phase: str, view: MarketView) -> TickOutput:
        quotes, orders = tuple(self.quotes), tuple(self.orders)
        self.quotes, self.orders = [], []
        return TickOutput(
            spx=440_000,
            spy=44_000,
            regime="medium",
            fair=dict(self.fair_values),
            quotes=quotes,
            orders=orders,
        )


class Driver:
    """Feeds commands to an ``Exchange`` with contiguous seqs and a controllable clock."""

    def __init__(
        self, config: Config | None = None, phase: str = "continuous", **overrides: Any
    ) -> None:
        self.config = config or load(None, **overrides)
        self.core = Exchange(self.config, 7, "test", market=FakeMarket)
        self.seq = 0
        self.now = 1_000 * NANOS
        self.log: list[Event | Command] = []
        self.run(StartSession(session_id="test", seed=7, config="{}", config_hash="h"))
        if phase != "closed":
            self.run(ChangePhase(phase=phase))

    @property
    def market(self) -> FakeMarket:
        market = self.core.market
        assert isinstance(market, FakeMarket)
        return market

    def run(self, command: Command, *, advance: float = 0.001) -> list[Event]:
        self.now += int(advance * NANOS)
        self.seq += 1
        stamped = stamp(command, self.seq, self.now)
        events = self.core.apply(stamped)
        self.seq += len(events)
        self.log.append(stamped)
        self.log.extend(events)
        return events

    def team(self, name: str, role: str = "hedge_fund") -> str:
        [event] = self.run(RegisterTeam(team_name=name, role=role, api_key_hash=f"hash-{name}"))
        assert isinstance(event, TeamRegistered), event
        return event.team_id

    def order(
        self,
        team: str,
        side: str,
        qty: int,
        price: int | None,
        iid: str = "SPX_4400_CALL",
        *,
        advance: float = 0.001,
        **kw: Any,
    ) -> list[Event]:
        order_type = kw.pop("order_type", "limit" if price is not None else "market")
        command = SubmitOrder(
            team_id=team,
            instrument_id=iid,
            side=side,
            quantity=qty,
            order_type=order_type,
            price=price,
            **kw,
        )
        return self.run(command, advance=advance)

    def order_id(self, events: Iterable[Event]) -> str:
        for e in events:
            if isinstance(e, OrderAccepted):
                return e.order_id
        raise AssertionError(f"no order accepted: {list(events)}")
