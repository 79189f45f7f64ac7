"""The clocks that drive a session's schedule: the wall clock and the lockstep clock.

A clock decides *when* the session takes its next step; ``Driver`` (``driver.py``)
says what the step is. The engine runs one clock (``Engine.clock``), chosen when the
log is opened: ``[schedule] clock`` of the config, or the fork record's ``clock``.

- ``WallClock``: a step every ``tick_seconds`` of wall time, or on the competition
  day's grid (``trading_day.next_slot``). The default, and what a live session uses.
- ``LockstepClock``: a step when every bot under test has said it is done with the
  current tick (``done``, from a gateway's ``Done`` frame, which a bot's
  ``POST /lockstep/done`` becomes), or when the tick's budget of wall time has run out;
  then a ``TickBudgetExpired`` record names the late teams (those the tick, or its
  next round, was waiting for: ``_wait``), so the log says why the
  tick moved on and the results can count it. Sequencer time is virtual: each tick
  carries its recorded time in a fork, else ``tick_seconds`` after the last one, and
  everything sequenced during a tick carries that time. So a backtest runs as fast as
  its bot thinks, and the same fork and the same deterministic bot give the same log.

Within a lockstep tick the bots' orders, quotes and cancels are applied in **rounds**
(``rounds.py``): a bot under test's request is held until every bot under test has
a request held or is done with the tick, and each round is sequenced in a fixed team
order, so which bot's move lands first does not depend on the machine's load either.

Bots under test: the teams registered through a gateway (not the simulated ones, not
the disabled ones); in a fork, only those that joined after the fork point, and the
team taken over, never the teams the fork's script registers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import trio

from engine.core.rules import NANOS
from engine.records import ChangePhase, Command, TickBudgetExpired
from engine.shell.driver import Driver
from engine.shell.rounds import HELD, Answer, Rounds
from engine.shell.trading_day import next_slot

if TYPE_CHECKING:
    from engine.shell.sequencer import Engine

log = logging.getLogger("tradepit.engine")

#: How long a lockstep session waits for its bots' first ``done`` (they are starting).
START_BUDGET_SECONDS = 60.0


class Clock(Protocol):
    kind: str

    def now_ns(self) -> int:
        """The time the sequencer stamps on a command that carries none."""
        ...

    def done(self, team_id: str, tick: int) -> int:
        """A bot is done with ``tick``; answers the session's current tick."""
        ...

    async def run(self, engine: Engine) -> None: ...

    def teams_changed(self) -> None:
        """A team was disabled or enabled: the bots under test may have changed."""
        ...


class WallClock:
    kind = "wall"

    def __init__(self, driver: Driver, now_ns: Callable[[], int]) -> None:
        self.driver = driver
        self._now = now_ns

    def now_ns(self) -> int:
        return self._now()

    def done(self, team_id: str, tick: int) -> int:
        return tick  # nothing waits for a bot on the wall clock

    def teams_changed(self) -> None:
        pass

    async def run(self, engine: Engine) -> None:
        """Issue phase changes and ticks on the configured schedule."""
        core = engine.core
        assert core is not None
        await engine.submit_all(self.driver.pending(core.tick_number, core.phase))
        schedule = self.driver.schedule
        deadline = trio.current_time()
        ticked: float | None = None  # the competition slot last acted on
        while True:
            closing = False
            if schedule.profile == "competition":  # on the exchange's wall-clock day
                now = self.now_ns() / NANOS
                slot = next_slot(schedule, now, ticked)
                ticked = slot.at
                wait = slot.at - now
                if wait > schedule.tick_seconds:
                    log.info(
                        "competition day: %s at %s %s, in %.0f s",
                        "closing" if slot.closes else "first tick",
                        schedule.close_time if slot.closes else schedule.open_time,
                        schedule.timezone,
                        wait,
                    )
                await trio.sleep(max(wait, 0.0))
                closing = slot.closes
            else:
                deadline += schedule.tick_seconds
                await trio.sleep_until(deadline)
            core = engine.core
            assert core is not None
            if not core.clock_running:  # stopped by an admin: the schedule waits
                if closing:  # past the close: look again each second until restarted
                    ticked = None
                    await trio.sleep(1.0)
                continue
            commands: list[Command] | None
            if closing:
                commands = [] if core.phase == "closed" else [ChangePhase(phase="closed")]
            else:
                commands = self.driver.step(core.tick_number, core.phase, 0, virtual=False)
            if commands:
                await engine.submit_all(commands)
            if closing:
                log.info(
                    "competition day over at %s %s: closed after tick %d",
                    schedule.close_time,
                    schedule.timezone,
                    core.tick_number,
                )
                return
            if not commands:
                log.info("session over: closed after tick %d", core.tick_number)
                return


class LockstepClock:
    kind = "lockstep"

    def __init__(
        self,
        driver: Driver,
        budget_seconds: float,
        *,
        wait_for_bot: bool = True,
        start_budget_seconds: float = START_BUDGET_SECONDS,
    ) -> None:
        self.driver = driver
        self.budget_seconds = budget_seconds
        self.start_budget_seconds = start_budget_seconds
        self.wait_for_bot = wait_for_bot
        self.virtual_ns = 0
        self.tick = 0  # the session's current tick, as the clock last saw it
        self.expired = 0  # ticks that started on their budget
        self.steps = 0
        self.finished = trio.Event()
        self._done: dict[str, int] = {}  # team -> the last tick it said it was done with
        self._changed = trio.Event()
        self._engine: Engine | None = None
        self.rounds = Rounds()
        # while ``run`` runs: with no clock task, nothing would end a tick's last round
        self.holding = False

    def now_ns(self) -> int:
        return self.virtual_ns

    def _current(self) -> int:
        # the core's tick, not ``self.tick``: the core has the tick as soon as it is
        # sequenced, and a quick bot can answer it before this task looks again
        core = self._engine.core if self._engine is not None else None
        return core.tick_number if core is not None else self.tick

    def done(self, team_id: str, tick: int) -> int:
        # never ahead of the session: a done for a tick not begun would pass it unseen
        current = self._current()
        self._done[team_id] = max(self._done.get(team_id, -1), min(tick, current))
        self._fire()
        self._changed.set()
        return current

    def teams_changed(self) -> None:
        # a disabled team no longer holds the tick, nor a round: look again now, not
        # when the budget runs out (a ladder disables a crashed bot and the heat goes on)
        self._fire()
        self._changed.set()

    def hold(self, command: Command, request_id: int, answer: Answer) -> bool:
        """Hold a bot under test's order, quote or cancel for its round (``rounds.py``);
        False: the sequencer takes it at once (another command, a team that is not a
        bot under test, or no clock running)."""
        engine = self._engine
        if not self.holding or engine is None or not isinstance(command, HELD):
            return False
        if not engine.is_bot_under_test(command.team_id):
            return False
        # (no wake-up for the clock task: a held request never lets the tick move on)
        self.rounds.hold(command.team_id, (command, request_id, answer))
        self._fire()
        return True

    def settled(self, team_id: str, tick: int) -> bool:
        """Whether a round may fire without waiting for this team: it is done with the
        tick, or one of its requests is held."""
        return self._done.get(team_id, -1) >= tick or self.rounds.holds(team_id)

    def _fire(self) -> None:
        """Send the sequencer every round that is ready now: one at a time, while every
        bot under test is settled (a team whose requests were all taken is settled
        again only by its next request or its done). Called as each thing that can
        settle a bot happens, so a round never waits for this task to wake: with one
        bot, its request goes to the sequencer in the call that holds it."""
        engine, rounds = self._engine, self.rounds
        if engine is None or not rounds:
            return
        tick = self._current()
        bots = engine.bots_under_test()
        while rounds and all(self.settled(team, tick) for team in bots):
            engine.send_round(rounds.take(tick))

    def waiting_for(self, bots: list[str], tick: int) -> list[str]:
        return [team for team in bots if self._done.get(team, -1) < tick]

    async def run(self, engine: Engine) -> None:
        core = engine.core
        assert core is not None
        self._engine = engine
        self.virtual_ns = engine.last_ts
        self.tick = core.tick_number
        self.holding = True
        try:
            await engine.submit_all(self.driver.pending(core.tick_number, core.phase))
            budget = self.start_budget_seconds
            while self.wait_for_bot and not engine.bots_under_test():
                await self._next_change()  # a lockstep session starts with its first bot
            while True:
                core = engine.core
                assert core is not None
                self.tick = tick = core.tick_number
                if self.driver.over(tick, core.phase):
                    log.info("session over: closed after tick %d", tick)
                    return
                if not core.clock_running:  # stopped by an organiser: wait for a restart
                    await self._next_change(self.budget_seconds)
                    continue
                late = await self._wait(engine, tick, budget)
                budget = self.budget_seconds
                if late:
                    self.expired += 1
                    log.info("tick %d: the budget ran out waiting for %s", tick, ", ".join(late))
                    await engine.submit_all(
                        [TickBudgetExpired(ts=engine.last_ts, tick_number=tick, team_ids=late)]
                    )
                commands = self.driver.step(tick, core.phase, engine.last_ts, virtual=True)
                if commands is None:  # an organiser closed the session meanwhile
                    return
                # what a bot sends during the tick is stamped with the tick's time
                self.virtual_ns = max(c.ts for c in commands)
                self.steps += 1
                await engine.submit_all(commands)
        finally:
            # from now on nothing is held, and nothing held is left unanswered
            self.holding = False
            if self.rounds:
                engine.send_round(self.rounds.drain(self._current()))
            self.finished.set()

    async def _wait(self, engine: Engine, tick: int, budget: float) -> list[str]:
        """The bots under test still not settled with ``tick`` after ``budget``; returns
        once every one is done and nothing is held.

        When the budget runs out, what is held is sequenced first, as one last round:
        every request is answered, in the tick it was sent in. The late are the teams
        that held the rounds up (neither done nor with a request held): a bot waiting
        for its answer was waiting for them, and is not blamed for it."""
        with trio.move_on_after(budget):
            while True:
                self._fire()  # what settled a bot meanwhile: nothing held waits here
                if not self.rounds and not self.waiting_for(engine.bots_under_test(), tick):
                    return []
                await self._next_change()
        late = [team for team in engine.bots_under_test() if not self.settled(team, tick)]
        if self.rounds:
            engine.send_round(self.rounds.drain(tick))
        return late

    async def _next_change(self, timeout: float = float("inf")) -> None:
        with trio.move_on_after(timeout):
            await self._changed.wait()
        self._changed = trio.Event()
