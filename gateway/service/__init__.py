"""The stateful service: the gateway object that folds the log and sends commands, the
teams' streams, the public stream, the archive of old history, budgets and metrics.
It knows nothing of HTTP: the edge (``gateway.web``) validates requests into commands."""

from gateway.service.gateway import CommandPort, Gateway, hash_key, new_api_key

__all__ = ["CommandPort", "Gateway", "hash_key", "new_api_key"]
