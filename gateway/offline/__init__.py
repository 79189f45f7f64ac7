"""Commands run on finished or fresh sessions, not by a serving gateway: results and
tournaments; and clients of a running one: the organiser's terminal (``tradepit admin``)
and a stream in the terminal (``tradepit follow``)."""
