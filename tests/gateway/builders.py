"""Record lists for gateway tests: a tiny session stamped with seqs and times, or one
recorded through the real core (``Recorder``)."""

from __future__ import annotations

import hashlib
from typing import Any

from engine import config as configmod
from engine.core.exchange import Exchange
from engine.records import (
    AnyRecord,
    ChangePhase,
    Command,
    MarketData,
    News,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    PhaseChanged,
    RegisterTeam,
    StartSession,
    TeamRegistered,
    TickStarted,
    TrackingSignal,
    Trade,
    VolatilitySignal,
    stamp,
)

T0 = 1_795_000_000_000_000_000  # 2026-11-18T...


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Recorder:
    """A session recorded in process through the real core (no price band), as the
    commits that wrote it: each command stamped with the next seq, ``step_ns`` of log
    time after the last, and its events after it. Started and in continuous trading."""

    def __init__(self, session_id: str, seed: int, step_ns: int) -> None:
        config = configmod.load(None, price_limits={"enabled": False})
        self.core = Exchange(config, seed, session_id)
        self.step_ns = step_ns
        self.commits: list[list[AnyRecord]] = []
        self.seq = 0
        self.commit(StartSession(session_id=session_id, seed=seed,
                                 config=configmod.canonical_json(config),
                                 config_hash=configmod.config_hash(config)))  # fmt: skip
        self.commit(ChangePhase(phase="continuous"))

    def commit(self, command: Command) -> list[AnyRecord]:
        """Apply ``command``; its events."""
        self.seq += 1
        stamped = stamp(command, self.seq, T0 + self.seq * self.step_ns)
        events: list[AnyRecord] = list(self.core.apply(stamped))  # type: ignore[arg-type]
        self.seq += len(events)
        self.commits.append([stamped, *events])  # type: ignore[list-item]
        return events

    def join(self, role: str) -> list[str]:
        """Register the bot team ``t-ROLE`` (its key is its name); its team id."""
        name = f"t-{role}"
        events = self.commit(RegisterTeam(team_name=name, role=role, api_key_hash=key_hash(name)))
        return [e.team_id for e in events if isinstance(e, TeamRegistered)]

    @property
    def records(self) -> list[AnyRecord]:
        return [record for records in self.commits for record in records]


class Log:
    """Stamps records like the sequencer: seq 1, 2, 3, ... and a ms apart."""

    def __init__(self) -> None:
        self.records: list[AnyRecord] = []

    def add(self, record: AnyRecord) -> AnyRecord:
        seq = len(self.records) + 1
        stamped = stamp(record, seq, T0 + seq * 1_000_000)
        self.records.append(stamped)
        return stamped

    def start(self, config: configmod.Config | None = None) -> None:
        """The session's first record, carrying ``config`` (the default config if None)."""
        config = config or configmod.Config()
        self.add(
            StartSession(
                session_id="s1",
                seed=7,
                config=configmod.canonical_json(config),
                config_hash=configmod.config_hash(config),
            )
        )

    def team(self, team_id: str, role: str, key: str | None = None) -> None:
        self.add(
            TeamRegistered(
                team_id=team_id,
                team_name=f"name-{team_id}",
                role=role,
                api_key_hash=key_hash(key or team_id),
            )
        )

    def order(
        self,
        order_id: str,
        team_id: str,
        side: str,
        qty: int,
        price: int | None,
        instrument: str = "SPX_4400_CALL",
        **kw: Any,
    ) -> None:
        self.add(
            OrderAccepted(
                order_id=order_id,
                team_id=team_id,
                instrument_id=instrument,
                side=side,
                order_type="limit" if price is not None else "market",
                quantity=qty,
                price=price,
                **kw,
            )
        )

    def trade(
        self,
        trade_id: str,
        maker: tuple[str, str, str, int],
        taker: tuple[str, str, int],
        qty: int,
        price: int,
        instrument: str = "SPX_4400_CALL",
    ) -> None:
        """maker = (team, order, side, remaining); taker = (team, order, remaining)."""
        self.add(
            Trade(
                trade_id=trade_id,
                instrument_id=instrument,
                price=price,
                quantity=qty,
                maker_order_id=maker[1],
                maker_team_id=maker[0],
                maker_side=maker[2],
                maker_fee=2 * qty,
                maker_remaining=maker[3],
                taker_order_id=taker[1],
                taker_team_id=taker[0],
                taker_fee=-2 * qty,
                taker_remaining=taker[2],
            )
        )

    def cancel(
        self,
        order_id: str,
        team_id: str,
        side: str,
        qty: int,
        reason: str = "user",
        instrument: str = "SPX_4400_CALL",
    ) -> None:
        self.add(
            OrderCancelled(
                order_id=order_id,
                team_id=team_id,
                instrument_id=instrument,
                side=side,
                cancelled_quantity=qty,
                reason=reason,
            )
        )

    def reject(self, team_id: str, code: str = "INVALID_PRICE") -> None:
        self.add(OrderRejected(team_id=team_id, code=code, message="no", command="submit_order"))

    def tick(self, n: int, phase: str = "continuous") -> None:
        self.add(TickStarted(tick_number=n, phase=phase, digest="d"))

    def phase(self, phase: str, previous: str) -> None:
        self.add(PhaseChanged(phase=phase, previous=previous))

    def market(self, instrument: str = "SPX_4400_CALL") -> None:
        self.add(
            MarketData(
                instrument_id=instrument,
                bid=12_000,
                ask=12_100,
                last=None,
                bid_size=20,
                ask_size=20,
                fair=12_050,
            )
        )

    def news(self, n: int = 1) -> None:
        self.add(
            News(
                tick_number=n,
                headline="Fed hints at tightening",
                effect="regime_shift",
                new_regime="high",
            )
        )

    def vol(self, n: int = 1) -> None:
        self.add(
            VolatilitySignal(
                tick_number=n,
                current_regime="medium",
                forecast="high",
                confidence=0.66,
                ticks_until_change=3,
            )
        )

    def tracking(self, n: int = 1) -> None:
        self.add(
            TrackingSignal(
                tick_number=n,
                spx_price=440_000,
                spy_price=44_110,
                theoretical_spy=44_000,
                tracking_error_bps=25,
                direction="SPY_RICH",
                z_score=1.7,
            )
        )


def busy_log() -> Log:
    """Every kind of record, three teams of three roles."""
    log = Log()
    log.start()
    log.team("T1", "market_maker")
    log.phase("continuous", "opening_auction")
    log.tick(1)
    log.team("T2", "hedge_fund")
    log.team("T3", "arbitrage")
    log.market()
    log.order("O1", "T1", "sell", 10, 12_100, client_order_id="c1")
    log.order("O2", "T2", "buy", 4, 12_200, client_order_id="c2")
    log.trade("X1", ("T1", "O1", "sell", 6), ("T2", "O2", 0), 4, 12_100)
    log.reject("T2")
    log.news()
    log.vol()
    log.tracking()
    log.tick(2)
    log.order("O3", "T3", "buy", 5, None)
    log.trade("X2", ("T1", "O1", "sell", 3), ("T3", "O3", 2), 3, 12_100)
    log.cancel("O3", "T3", "buy", 2, reason="no_liquidity")
    log.cancel("O1", "T1", "sell", 3)
    return log
