"""Replay: verify, serve, inspect and export recorded sessions."""

from engine.replay.reexecute import Divergence as Divergence
from engine.replay.reexecute import Reexecution as Reexecution
