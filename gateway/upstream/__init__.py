"""Upstream ports: where records come from (the log, a JetStream relay) and where
commands go (the engine's TCP port, or NATS). The service sees only their protocols."""
