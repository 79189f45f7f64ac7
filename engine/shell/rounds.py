"""Rounds within a lockstep tick: the order of the bots' commands, whatever the timing.

Under the lockstep clock a tick waits for every bot under test, but within the tick
the sequencer would apply the bots' commands in the order they arrive, which is the
machine's load speaking: whether the market maker's requote or the hedge fund's take
lands first would change with it (issue 18). So ``LockstepClock`` (``clock.py``)
*holds* a bot's order, quote or cancel here instead of sequencing it. A bot under test
is **settled** when it is done with the tick or has a request held; when every one is
settled and something is held, a **round** fires: one held request of each team that
has one, in ``team_order``, sequenced as one batch (one frame of the log, so a gateway
folds the whole round before it answers any of it) and answered. The bots then send
more or say done, and the next round fires the same way.

One request a team a round, not all it has held: a bot that sends several requests
before it waits for their answers (the example market maker sends a tick's quotes over
its order socket at once) would otherwise have some of them in one round or the next
as they happen to arrive; taken one a round, its k-th request is always in the k-th
round it takes part in, and a bot whose requests follow from its answers and the tick
gets the same rounds on any machine. The one exception is a round forced by the end
of the tick's budget (``drain``): everything held, a team's in arrival order.

Pure bookkeeping: the clock decides when a round fires, the sequencer writes it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeAlias

from engine.records import CancelAll, CancelOrder, Command, SubmitOrder, SubmitQuote
from engine.wire import Refused, Reply

#: What a bot under test sends for a tick and waits on: held for a round. Registration
#: and the organisers' commands are never held (they are not a bot's move in the tick).
HELD = (SubmitOrder, SubmitQuote, CancelOrder, CancelAll)

Answer: TypeAlias = Callable[[Reply | Refused], None]
#: An item of the sequencer's inbox: a command, its gateway's request id (0: the
#: engine's own), and whom to answer; a held request is kept as it came.
Inbox: TypeAlias = tuple[Command, int, Answer | None]


class RoundAnswer:
    """A held request's answer, marked with its round: the sequencer keeps the requests
    of one round in one batch by this mark (``Engine._sequencer``)."""

    __slots__ = ("answer", "round")

    def __init__(self, answer: Answer | None, round_number: int) -> None:
        self.answer = answer
        self.round = round_number

    def __call__(self, result: Reply | Refused) -> None:
        if self.answer is not None:
            self.answer(result)


def team_order(teams: Iterable[str], tick: int) -> list[str]:
    """The teams of a round: sorted by id, rotated by the tick number.

    Sorted, so the order is the same on any machine; rotated, so no team is always
    first (the first of a round meets the book as the tick left it, the others after
    it): over consecutive ticks each team of a round leads in turn. The tick, not the
    round, turns it, so one tick's rounds all share one order and a bot can count on
    it within a tick."""
    ordered = sorted(teams)
    if not ordered:
        return ordered
    k = tick % len(ordered)
    return ordered[k:] + ordered[:k]


class Rounds:
    """The held requests of the current tick, each team's in arrival order."""

    def __init__(self) -> None:
        self._held: dict[str, deque[Inbox]] = {}
        self.fired = 0  # rounds taken so far: each one's number marks its answers

    def __bool__(self) -> bool:
        return bool(self._held)

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._held.values())

    def hold(self, team_id: str, request: Inbox) -> None:
        queue = self._held.get(team_id)
        if queue is None:
            queue = self._held[team_id] = deque()
        queue.append(request)

    def holds(self, team_id: str) -> bool:
        return team_id in self._held

    def take(self, tick: int) -> list[Inbox]:
        """The next round: the first held request of each team, in ``team_order``."""
        out: list[Inbox] = []
        for team in team_order(self._held, tick):
            queue = self._held[team]
            out.append(queue.popleft())
            if not queue:
                del self._held[team]
        return self._mark(out)

    def drain(self, tick: int) -> list[Inbox]:
        """Everything held as one last round (the tick's budget ran out): teams in
        ``team_order``, each team's requests in their arrival order."""
        out = [r for team in team_order(self._held, tick) for r in self._held[team]]
        self._held.clear()
        return self._mark(out) if out else out

    def _mark(self, requests: list[Inbox]) -> list[Inbox]:
        self.fired += 1
        mark = self.fired
        return [(command, rid, RoundAnswer(answer, mark)) for command, rid, answer in requests]
