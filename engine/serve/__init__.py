"""``tradepit serve``: the supervisor of one engine and its gateway processes."""
