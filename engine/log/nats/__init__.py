"""The distributed log: the session's records on NATS JetStream (docs/nats.md).

Only ``messages``, ``seal`` and ``access`` are importable without nats-py; the rest
needs the ``nats`` extra.
"""
