"""tradepit gateway: projects the log into REST answers and per-team WebSocket streams."""
