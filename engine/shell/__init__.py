"""The engine's trio driver: sequencer with group commit, clock, schedule, `tradepit engine`."""
