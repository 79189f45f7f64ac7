"""Commands run on finished or fresh sessions, not by a serving gateway: results and
tournaments."""
