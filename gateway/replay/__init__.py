"""Recorded sessions through the projection: serve to bots, inspect at a seq, export."""
