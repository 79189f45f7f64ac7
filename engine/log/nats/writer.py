"""The engine's log with ``--nats``: the local file log, then the session's stream.

``MirroredWriter`` is a ``LogWriter``: ``append`` writes and fsyncs the batch locally,
then publishes it to JetStream and returns once JetStream acknowledged it. The shell
answers callers only after ``append`` returns, so an answered command is durable on
the local disk *and* in the stream (on every replica that acknowledged: see
docs/nats.md). Each publish carries ``Nats-Expected-Last-Sequence``: a second writer
is refused by JetStream itself (``Fenced``).

``reconcile`` runs at open: it brings the local log and the stream to the same head
(an empty data dir is rebuilt from the stream; a local tail that never reached the
stream is published), after checking that they agree where they overlap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

from engine.log.errors import LogError, SequenceError
from engine.log.nats.client import NatsLog
from engine.log.nats.messages import split
from engine.log.protocol import LogWriter
from engine.records import AnyRecord, Record

log = logging.getLogger("tradepit.nats")

#: Records per append while copying between the local log and the stream.
COPY_BATCH = 4096


class StreamWriter:
    """Appends batches to the session's stream; the single writer by expected sequence."""

    def __init__(self, nats_log: NatsLog, replicas: int = 1) -> None:
        self.log = nats_log
        nats_log.sync(nats_log.js.create_stream(replicas))
        head = nats_log.head()
        if head.first_stream_seq > 1:
            raise LogError(
                f"stream {nats_log.names.stream} no longer starts at message 1: refusing it"
            )
        if head.stream_seq and not head.log_seq:
            # a new session over a stream of someone else's: gateways would skip it all
            raise LogError(
                f"stream {nats_log.names.stream} holds {head.stream_seq} messages and none is "
                "sealed with this session key: give the session's key (--nats-key), or use "
                "another session name"
            )
        self.stream_seq = head.stream_seq
        self.head_seq = head.log_seq
        self.max_payload = nats_log.sync(_max_payload(nats_log))

    def append(self, batch: Sequence[Record]) -> None:
        if not batch:
            return
        if batch[0].seq != self.head_seq + 1:
            raise SequenceError(
                f"publish of log seq {batch[0].seq} where {self.head_seq + 1} was due "
                f"in stream {self.log.names.stream}"
            )
        for chunk in split(batch, self.max_payload):
            self.stream_seq = self.log.sync(self.log.js.publish(chunk, self.stream_seq))
            self.head_seq = chunk.last

    def close(self) -> None:
        pass


async def _max_payload(nats_log: NatsLog) -> int:
    return nats_log.js.max_payload


class MirroredWriter:
    """Local file log first (fsync), then the stream (ack): durable once both hold it."""

    def __init__(self, local: LogWriter, stream: StreamWriter) -> None:
        self.local = local
        self.stream = stream

    @property
    def head_seq(self) -> int:
        return self.local.head_seq

    @head_seq.setter
    def head_seq(self, value: int) -> None:  # the LogWriter protocol declares an attribute
        raise AttributeError("head_seq is read-only")

    def append(self, batch: Sequence[Record]) -> None:
        self.local.append(batch)
        self.stream.append(batch)

    def close(self) -> None:
        self.local.close()


def reconcile(
    local: LogWriter,
    read_local: Callable[[int, int], Iterator[AnyRecord]],
    stream: StreamWriter,
) -> None:
    """Bring ``local`` and ``stream`` to one head, or raise ``LogError`` naming both.

    ``read_local(from_seq, to_seq)`` reads the local log. Where both hold a seq, the
    records must be equal (checked at the shorter head: a log that diverged there
    belongs to another writer's history).
    """
    name = stream.log.names.stream
    ours, theirs = local.head_seq, stream.head_seq
    common = min(ours, theirs)
    if common:
        mine = next(read_local(common, common), None)
        other = next(stream.log.read(common, common), None)
        if mine != other:
            raise LogError(
                f"the local log and stream {name} differ at log seq {common} "
                f"(local {type(mine).__name__}, stream {type(other).__name__}): this data "
                "directory holds another engine's history; start with an empty one"
            )
    if theirs > ours:
        log.info("restoring log seqs %d..%d from stream %s", ours + 1, theirs, name)
        batch: list[Record] = []
        for record in stream.log.read(ours + 1, theirs):
            batch.append(record)
            if len(batch) >= COPY_BATCH:
                local.append(batch)
                batch = []
        local.append(batch)
    elif ours > theirs:
        log.warning(
            "publishing log seqs %d..%d, written locally but never acknowledged by %s",
            theirs + 1,
            ours,
            name,
        )
        batch = []
        for record in read_local(theirs + 1, ours):
            batch.append(record)
            if len(batch) >= COPY_BATCH:
                stream.append(batch)
                batch = []
        stream.append(batch)
