"""An example bot's ``step`` in lockstep with the pure core: no server, no clock.

Each tick the core ticks (the real market model with its fixed seed, the house and the
retail flow on), then the bot's step runs to completion against a stand-in client that
reads the core and sends its quotes as commands, each a tenth of a second of sequencer
time after the last (the role's rate is 10 a second). The scorer then folds the
records, as ``tradepit results`` folds a log. A heat is a seed; the same seed is the same
heat, so a requirement that holds here holds on every run.

Only what the example market maker calls is stood in for; a step calling anything else
fails with AttributeError, which is the point: this is not a second server.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, cast

from tradepit import models
from tradepit.bot import Bot
from tradepit.errors import ApiError

from engine.records import ChangePhase, OrderRejected, SubmitQuote
from tests.scoring.session import Session

PRE_OPEN = 2  # the demo profile's pre-open ticks


class _State:
    """The fields of ``tradepit.state.State`` a market maker reads, from the core's account."""

    def __init__(self, session: Session, team_id: str) -> None:
        self._session, self._team_id = session, team_id

    @property
    def _account(self) -> Any:
        return self._session.core.teams[self._team_id]

    @property
    def phase(self) -> str:
        return str(self._session.core.phase)

    @property
    def tick(self) -> int:
        return int(self._session.core.tick_number)

    @property
    def positions(self) -> dict[str, int]:
        return {k: v for k, v in self._account.positions.items() if v}

    def resting(self, instrument_id: str, side: str) -> int:
        book = self._account.resting_buy if side == "buy" else self._account.resting_sell
        return int(book.get(instrument_id, 0))


class _Client:
    """The REST calls of the example market maker, answered by the core."""

    order_entry = "ws"  # as in a backtest: the maker sends a tick's quotes at once

    def __init__(self, session: Session, team_id: str) -> None:
        self._session, self._team_id = session, team_id

    async def instruments(self) -> models.Instruments:
        fair = self._session.core.fair  # the gateway's marks: this tick's fair values
        return models.Instruments(
            instruments=[
                models.Instrument(
                    instrument_id=i.id,
                    underlying=i.underlying,
                    kind=i.kind,
                    strike=None if i.strike is None else i.strike / 100,
                    multiplier=i.multiplier,
                    tick_size=0.01,
                    mark=None if fair.get(i.id) is None else fair[i.id] / 100,
                )
                for i in self._session.core.instruments.values()
            ]
        )

    async def quote(
        self, instrument_id: str, bid_price: float, bid_size: int, ask_price: float, ask_size: int
    ) -> object:
        events = self._session.run(
            SubmitQuote(
                team_id=self._team_id,
                instrument_id=instrument_id,
                bid_price=round(bid_price * 100),
                bid_size=bid_size,
                ask_price=round(ask_price * 100),
                ask_size=ask_size,
            )
        )
        for e in events:
            if isinstance(e, OrderRejected):
                raise ApiError(e.code, e.message, dict(e.details), 422)
        return events


def run_maker(seed: int, ticks: int, step: Any, **overrides: Any) -> Session:
    """A session of ``ticks`` continuous ticks with one example market maker's ``step``."""
    config: dict[str, Any] = {"house": {"enabled": True}, "retail": {"enabled": True}}
    for key, value in overrides.items():
        config[key] = {**config.get(key, {}), **value}
    session = Session(seed, "pre_open", **config)
    team_id = session.team("ex-market_maker", "market_maker")
    bot = Bot(
        cast(Any, _Client(session, team_id)),
        cast(Any, _State(session, team_id)),
        argparse.Namespace(seed=seed),
    )

    async def heat() -> None:
        # the demo schedule's opening: quotes may rest before continuous trading scores
        for phase, count in (("pre_open", PRE_OPEN), ("opening_auction", 1), ("continuous", ticks)):
            if phase != "pre_open":
                session.run(ChangePhase(phase=phase))
            for _ in range(count):
                session.tick()
                await step(bot)

    asyncio.run(heat())
    unexpected = set(bot.refused) - {"POSITION_LIMIT_EXCEEDED", "INVALID_PRICE"}
    assert not unexpected, dict(bot.refused)
    return session
