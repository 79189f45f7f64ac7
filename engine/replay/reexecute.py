"""Re-execute a recorded log through a fresh core and compare every event.

The one mechanism behind engine recovery and ``tradepit replay verify``: each recorded
command is applied to a core built from the session record's config and seed; the
events it produces must equal, field for field, the events recorded after it. Tick
digests are inside ``TickStarted`` events, so they are compared too, and so is the
parent's digest a fork records (``ForkSession``).
"""

from __future__ import annotations

from collections import deque

from engine import config as configmod
from engine.core.exchange import Exchange
from engine.records import (
    AnyRecord,
    Command,
    Event,
    ForkSession,
    Record,
    StartSession,
    TickStarted,
)


class Divergence(Exception):
    """The re-executed session differs from the recorded one at ``seq``."""

    def __init__(self, seq: int, recorded: Record | None, reexecuted: Record | None, why: str):
        super().__init__(f"divergence at seq {seq}: {why}")
        self.seq = seq
        self.recorded = recorded
        self.reexecuted = reexecuted
        self.why = why


class Reexecution:
    def __init__(self) -> None:
        self.core: Exchange | None = None
        self.head = 0
        self.records = 0
        self.commands = 0
        self.ticks = 0
        self.restarts = 0
        self.last_ts = 0
        # the session's fork record, if it is a fork, and the teams it had then
        self.fork: ForkSession | None = None
        self.fork_teams: tuple[str, ...] = ()
        self._expected: deque[Event] = deque()

    def feed(self, record: AnyRecord) -> None:
        self.records += 1
        if record.seq != self.head + 1:
            raise Divergence(record.seq, record, None, f"expected seq {self.head + 1}")
        self.head = record.seq
        self.last_ts = record.ts
        if isinstance(record, Command):
            if self._expected:
                want = self._expected[0]
                raise Divergence(want.seq, record, want, "the core produced more events here")
            if isinstance(record, StartSession):
                config = configmod.from_json(record.config)
                self.core = Exchange(config, record.seed, record.session_id)
            if self.core is None:
                raise Divergence(record.seq, record, None, "the log does not start with a session")
            if isinstance(record, ForkSession):
                # the copied prefix must leave the core where the parent's did
                digest = self.core.digest()
                if digest != record.parent_digest:
                    why = f"the state before the fork is {digest}, the parent's was"
                    raise Divergence(record.seq, record, None, f"{why} {record.parent_digest}")
                self.fork, self.fork_teams = record, tuple(self.core.teams)
            self.commands += 1
            self._expected.extend(self.core.apply(record))
            return
        if not self._expected:
            raise Divergence(record.seq, record, None, "a recorded event the core did not produce")
        want = self._expected.popleft()
        if want != record:
            raise Divergence(record.seq, record, want, "the event differs")
        if isinstance(record, TickStarted):
            self.ticks += 1

    def missing(self) -> list[Event]:
        """Events of the last command that the log does not hold (a torn tail)."""
        return list(self._expected)

    def finish(self) -> None:
        """Raise if the recorded log ends before its last command's events."""
        if self._expected:
            want = self._expected[0]
            raise Divergence(want.seq, None, want, "the log ends before this event")
