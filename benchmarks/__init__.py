"""Benchmarks of tradepit, run by ``./scripts/bench NAME``; not part of the shipped package."""
