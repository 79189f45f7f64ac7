"""The gateway's pure fold: log records to per-team messages and read views (no I/O)."""
