"""What the session sequences at each step of its clock, whatever the clock is.

A clock (``engine/shell/clock.py``) decides *when* the session moves on; this decides
*what* moves it: the timetable's commands (``schedule.plan``), and in a fork, the
parent's recorded commands after the fork point (``engine/replay/fork.py``'s script),
each sequenced when the fork is in the tick and phase it was sequenced in before,
with its recorded time. A step is one list of commands, put into the inbox at once,
so nothing a bot sends can fall between a tick and the recorded commands of its
start: the fork's order of records depends on the bots, never on a race.

The parent's clock commands in the script are not replayed: this timetable makes the
same ones. They only lend their recorded times, so a fork with the same commands sees
the same times as its parent (the core's rate limits count on them). A phase change
the timetable would not have made there was an organiser's, and is replayed.
"""

from __future__ import annotations

from collections import deque

import msgspec

from engine.config import ScheduleConfig
from engine.core.rules import NANOS
from engine.records import ChangePhase, ClockTick, Command
from engine.replay.fork import Script
from engine.shell.schedule import plan

Key = tuple[int, str]  # (tick number, phase) in which a command was sequenced


class Driver:
    def __init__(
        self, schedule: ScheduleConfig, script: Script | None = None, until_tick: int = 0
    ) -> None:
        self.schedule = schedule
        self.until_tick = until_tick
        self._due: deque[tuple[Key, Command]] = deque()  # in recorded order
        self._clock_ts: dict[Key, int] = {}
        self.replayed = 0
        self.registered: set[str] = set()  # key hashes of the teams the script registers
        for entry in script.entries if script is not None else ():
            command = entry.command
            assert isinstance(command, Command)
            key = (entry.tick, entry.phase)
            if isinstance(command, ClockTick) or self._timetable(key, command):
                self._clock_ts.setdefault(key, command.ts)
                continue
            self._due.append((key, command))
            hashed = getattr(command, "api_key_hash", None)
            if hashed:
                self.registered.add(hashed)

    def started(self, tick: int, phase: str) -> None:
        """The session is at ``(tick, phase)`` already: what the script had for it, and
        before, is in the log (the fork wrote the fork state's; each later state's came
        with the clock command that made it). An organiser's phase change stays: it
        would have moved the session on."""
        due = self._due
        while due and (due[0][0][0] < tick or due[0][0] == (tick, phase)):
            if isinstance(due[0][1], ChangePhase):
                break
            due.popleft()

    def _timetable(self, key: Key, command: Command) -> bool:
        if not isinstance(command, ChangePhase):
            return False
        planned = plan(self.schedule, *key)
        return bool(planned) and planned[0] == ChangePhase(phase=command.phase)

    def pending(self, tick: int, phase: str) -> list[Command]:
        """The recorded commands due now, in their recorded order (one of an earlier
        tick that the fork never was in, as a phase an organiser set, is late: now)."""
        out: list[Command] = []
        due = self._due
        while due and (due[0][0][0] < tick or due[0][0] == (tick, phase)):
            out.append(due.popleft()[1])
        self.replayed += len(out)
        return out

    @property
    def remaining(self) -> int:
        return len(self._due)

    def over(self, tick: int, phase: str) -> bool:
        """Whether the session has nothing more to do: closed after its last tick."""
        return phase == "closed" and not self._next(tick, phase)

    def _next(self, tick: int, phase: str) -> list[Command]:
        if self.until_tick and tick >= self.until_tick:
            return [] if phase == "closed" else [ChangePhase(phase="closed")]
        return plan(self.schedule, tick, phase)

    def step(self, tick: int, phase: str, last_ts: int, virtual: bool) -> list[Command] | None:
        """The commands that start tick ``tick + 1``, each followed by the recorded
        commands due in the state it makes; None when the session is over.

        ``virtual``: the clock's commands carry their time (the recorded one, or one
        ``tick_seconds`` after ``last_ts``); else the sequencer stamps the wall time.
        At ``until_tick`` the session closes, as it would after its last tick.
        """
        commands = self._next(tick, phase)
        if not commands:
            return None
        out: list[Command] = []
        for command in commands:
            if virtual:
                recorded = self._clock_ts.get((tick, phase))
                if recorded is None:  # past the recording: one tick of the timetable later
                    gap = 0 if isinstance(command, ChangePhase) else self.schedule.tick_seconds
                    recorded = last_ts + int(gap * NANOS)
                last_ts = max(last_ts, recorded)
                command = msgspec.structs.replace(command, ts=last_ts)
            out.append(command)
            if isinstance(command, ChangePhase):
                phase = command.phase
            else:
                tick += 1
            out.extend(self.pending(tick, phase))
        return out
