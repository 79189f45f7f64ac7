"""When ``serve`` restarts a child that died: at once the first time, after a growing
pause while it keeps dying, and at once again after it has stayed up a while.

A one-off crash (a gateway killed for memory) should cost seconds, so the first restart
waits for nothing. A child that dies again soon after each start (a bad disk, a port
someone else took) would otherwise be restarted in a tight loop that burns the core
the other children need and floods the organiser's terminal; the pause doubles from
``first`` up to ``cap``. A child that ran ``stable`` seconds before dying has shown it
can run, so its streak is forgotten.

Pure: the caller passes the times (``trio.current_time()`` in ``serve``, a MockClock in
the tests), so the schedule is tested without processes and without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    #: the pause before the second restart of a streak
    first: float = 1.0
    factor: float = 2.0
    #: the longest pause: a child that cannot run is still retried twice a minute
    cap: float = 30.0
    #: up this long, a child's next death starts a new streak (restarted at once)
    stable: float = 30.0
    #: deaths in a row, each before the child had been up ``stable`` seconds
    streak: int = 0

    def next_delay(self, started: float, died: float) -> float:
        """The pause before restarting a child that ran from ``started`` to ``died``."""
        if died - started >= self.stable:
            self.streak = 0
        self.streak += 1
        if self.streak == 1:
            return 0.0
        return min(self.cap, self.first * self.factor ** (self.streak - 2))
