"""Small hand-checkable sessions through the pure core: the real market model with its
fixed seed, the house and the retail flow off, so only the scripted bots trade."""

from __future__ import annotations

from typing import Any

from engine import config as configmod
from engine.core.exchange import Exchange
from engine.records import (
    ChangePhase,
    ClockTick,
    Command,
    OrderAccepted,
    RegisterTeam,
    StartSession,
    SubmitOrder,
    SubmitQuote,
    TeamRegistered,
    stamp,
)
from gateway.scoring import Scorer

NANOS = 1_000_000_000
SEED = 11


class Session:
    def __init__(self, seed: int = SEED, phase: str = "continuous", **overrides: Any) -> None:
        base: dict[str, Any] = {"house": {"enabled": False}, "retail": {"enabled": False}}
        for key, value in overrides.items():
            base[key] = {**base.get(key, {}), **value}
        self.config = configmod.load(None, **base)
        self.core = Exchange(self.config, seed, "golden")
        self.records: list[Any] = []  # the log's records, in seq order
        self.seq = 0
        self.now = 1_700_000_000 * NANOS
        self.run(
            StartSession(
                session_id="golden",
                seed=seed,
                config=configmod.canonical_json(self.config),
                config_hash=configmod.config_hash(self.config),
            )
        )
        self.run(ChangePhase(phase=phase))

    def run(self, command: Command) -> list[Any]:
        self.seq += 1
        self.now += NANOS // 5  # under every rate limit
        stamped = stamp(command, self.seq, self.now)
        events = self.core.apply(stamped)
        self.records += [stamped, *events]
        self.seq += len(events)
        return events

    def team(self, name: str, role: str) -> str:
        (event,) = self.run(RegisterTeam(team_name=name, role=role, api_key_hash=f"hash-{name}"))
        assert isinstance(event, TeamRegistered)
        return event.team_id

    def tick(self, n: int = 1) -> None:
        for _ in range(n):
            self.run(ClockTick())

    def fair(self, instrument_id: str) -> int:
        return self.core.fair[instrument_id]

    def order(self, team_id: str, instrument_id: str, side: str, quantity: int,
              price: int | None = None) -> list[Any]:  # fmt: skip
        events = self.run(
            SubmitOrder(
                team_id=team_id,
                instrument_id=instrument_id,
                side=side,
                quantity=quantity,
                order_type="market" if price is None else "limit",
                price=price,
            )
        )
        assert any(isinstance(e, OrderAccepted) for e in events), events
        return events

    def quote(self, team_id: str, instrument_id: str, size: int = 1) -> list[Any]:
        """A good quote around fair: two cents or 2% either side, whichever is wider."""
        fair = self.fair(instrument_id)
        half = max(1, fair // 50)
        events = self.run(
            SubmitQuote(
                team_id=team_id,
                instrument_id=instrument_id,
                bid_price=fair - half,
                bid_size=size,
                ask_price=fair + half,
                ask_size=size,
            )
        )
        assert any(isinstance(e, OrderAccepted) for e in events), events
        return events

    def scorer(self) -> Scorer:
        scorer = Scorer()
        for record in self.records:
            scorer.apply(record)
        return scorer
