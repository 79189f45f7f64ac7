"""The engine behind the gateway tests: the real pure core, sequencing into a MemoryLog.

The gateway is tested against the same matching, rules and ids as production, so the
two can never drift apart; only the shell (sockets, fsync, clock) is left out. The core
runs over the core tests' flat fake market with the config the gateway is given, the
one the log's ``StartSession`` carries, as in production: ``quiet_config`` is that config
for these tests, with the house and retail off and the price band off (these tests
price freely; the band has its own tests).
"""

from __future__ import annotations

from typing import Any, cast

import trio

from engine import config as configmod
from engine.core.exchange import Exchange
from engine.records import AnyRecord, ChangePhase, Command, StartSession, stamp
from engine.wire import Reply
from gateway.upstream.engine_client import EngineUnavailable
from gateway.upstream.source import MemoryLog
from tests.core.fakes import FakeMarket
from tests.gateway.builders import T0


def quiet_config(**sections: Any) -> configmod.Config:
    """The gateway tests' config: house, retail and price band off, ``sections`` over it."""
    base: dict[str, Any] = {
        "house": {"enabled": False},
        "retail": {"enabled": False},
        "price_limits": {"enabled": False},
    }
    return configmod.load(None, **{**base, **sections})


class CoreEngine:
    """Answers like the engine's command port: a ``Reply`` once the records are in the log.

    The log's ``StartSession`` starts the core (an empty log gets one); the engine then
    opens continuous trading, so orders meet a live market.
    """

    def __init__(self, log: MemoryLog, config: configmod.Config) -> None:
        """``config`` is the gateway's: the core runs it, and the log's start carries it."""
        starts = [r for r in log.records if isinstance(r, StartSession)]
        if starts:
            assert starts[0].config == configmod.canonical_json(config), (
                "the log was started with another config than the gateway's: "
                "start it with Log().start(config)"
            )
        self.config = config
        self.log = log
        self.down = False  # the port refuses, as an engine that is restarting does
        self.requests: list[Command] = []
        start = starts[0] if starts else self._start()
        self.core = Exchange(self.config, start.seed, start.session_id, market=FakeMarket)
        self.core.apply(start)
        self._commit(ChangePhase(phase="continuous"))

    def _start(self) -> StartSession:
        text = configmod.canonical_json(self.config)
        start = StartSession(
            session_id="s1", seed=7, config=text, config_hash=configmod.config_hash(self.config)
        )
        stamped = stamp(start, 1, self._ts(1))
        self.log.append([stamped])
        return stamped

    def _ts(self, seq: int) -> int:
        return T0 + seq * 1_000_000  # a millisecond per record, like the builders' logs

    def _commit(self, command: Command) -> Reply:
        seq = self.log.head() + 1
        stamped = stamp(command, seq, self._ts(seq))
        # the core's records are members of the log's union; its signature names the bases
        events = cast(list[AnyRecord], self.core.apply(stamped))
        self.log.append([cast(AnyRecord, stamped), *events])
        return Reply(0, seq, events)

    async def request(self, command: Command) -> Reply:
        await trio.lowlevel.checkpoint()
        if self.down:
            raise EngineUnavailable("the engine is not reachable; retry shortly")
        self.requests.append(command)
        return self._commit(command)

    def emit(self, *records: AnyRecord) -> None:
        """Records the market would make (ticks, news): stamped and appended as they are.

        They bypass the core, which has no market here; the gateway only folds them.
        """
        seq = self.log.head() + 1
        self.log.append([stamp(r, seq + i, self._ts(seq)) for i, r in enumerate(records)])
