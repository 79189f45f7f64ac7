"""Commands run on finished or fresh sessions, not by a serving gateway: results and
tournaments; and the organiser's terminal (``tradepit admin``), a client of a running one."""
