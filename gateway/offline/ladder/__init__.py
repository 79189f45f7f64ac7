"""``tradepit ladder DIR``: a practice ladder of submitted bots in rated lockstep heats.

- ``roster``: the submitted bots (a command or a Python file, a role), versioned by the
  content hash of what would run, in ``DIR/roster.json``.
- ``schedule``: which bots play the next heat (least played first, then the nearest
  in rating; every role the heat needs).
- ``sandbox``: one bot as a child process under rlimits, its CPU time read from /proc.
- ``heat``: one heat: a fresh lockstep session, the bots, their limits, the standings.
- ``ratings``: the heats folded into openskill ratings, in heat order, from the files.
- ``view``: the ladder's files as read-only views (the table, heats, a bot, its output),
  for ``web`` and for a gateway started with ``--ladder DIR``.
- ``web``: the read-only JSON endpoints and page (``--serve PORT``).
- ``cli``: the command.
"""
