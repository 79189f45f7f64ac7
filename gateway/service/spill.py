"""A gateway's spilled history: teams' own messages past ``events_history_bytes``, on disk.

Theory of operation
-------------------
``gateway/service/streams.py`` keeps a team's own messages (acks, fills, score updates)
in memory up to ``[gateway] events_history_bytes``, so an idle team costs a bounded few
hundred KiB however long the day. What fell out of that window used to be dropped,
and a resume from before it refolded the whole log in the archive (50k records a second:
~14 s for 100k messages of the bench's 540k-record session). Now a message leaves
memory only once it is here, and is read back for a resume: the memory bound stays,
nothing the gateway folded is lost, and a resume reads ~64 KiB blocks (from the page
cache, mostly) instead of folding the log: 100k messages in ~0.4 s.

When the first of a team's messages must leave memory, the oldest not yet written are
written as one block of ~``BLOCK`` bytes (at least all that leave now); the next ones
to leave are then on disk already, until the next block. So memory keeps to its budget
message by message as before, with the newest of a block in memory and on disk at
once, rather than in a saw tooth of a block's size below the budget.

One file per gateway process, whatever the number of teams: an anonymous temporary file
(``tempfile.TemporaryFile``: unlinked at once, so the OS frees it when the process
ends, however it ends; nothing to clean up, one descriptor in all). Append-only: a
block is written once at the file's end and never changed, so a block's ``(offset,
length)`` stays valid for the life of the process. Blocks that have left the window of
``events_history`` are not reclaimed: the file grows with the day (an idle scored team,
a ~550-byte ``score_update`` a tick, spills 549 KiB over a 6-hour day), and goes with
the process.

A block holds consecutive own messages of one team: ``count``, their seqs, their
lengths, their bodies, compressed with zlib at level 1: a trading team's acks and fills
shrink 9x, score updates 30x, for ~1-2 us a message to write and under 1 us to read
(level 6: ~20% fewer bytes for 2-4x the CPU; 16 KiB blocks: a third less shrinking;
BENCHMARKS.md, "Resume from the spill"). The team keeps only the block's place
(``streams.Spilled``: four integers a block, a fraction of a byte a message). Blocks
read back are kept decoded in a small LRU (``CACHED`` blocks, a few MiB at most per
gateway), so a resume read one message at a time (``Subscription.next``) or several
resumes at once do not decode a block per message.

A write that fails (a full disk) turns the spill off for good: the stream drops what it
would have spilled, as it did before the spill, and the archive serves it. Reads of a
block written earlier go on.
"""

from __future__ import annotations

import os
import struct
import tempfile
import weakref
import zlib
from array import array
from collections import OrderedDict
from typing import IO

#: Raw bytes of own messages gathered into one block, about (a block holds at least one).
BLOCK = 64 * 1024
#: Decoded blocks kept for reads that come back to them.
CACHED = 32
#: zlib's level for a block: 1, the fastest, already shrinks JSON ~10x.
LEVEL = 1

_COUNT = struct.Struct("<I")

Block = tuple["array[int]", list[bytes]]  # the messages' seqs, and their bodies


class Spill:
    """Append-only blocks of own messages in one anonymous temporary file."""

    __slots__ = ("__weakref__", "_cache", "_fd", "_file", "blocks", "broken", "raw", "reads",
                 "size")  # fmt: skip

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None  # opened at the first block written
        self._fd = -1
        self.size = 0  # bytes written: the file's length, the next block's offset
        self.raw = 0  # bytes of message bodies spilled, before compression
        self.blocks = 0  # blocks written
        self.reads = 0  # blocks read back from the file (not from the cache)
        self.broken = False  # a write failed: spill no more
        self._cache: OrderedDict[int, Block] = OrderedDict()  # by offset

    def write(self, seqs: list[int], bodies: list[bytes]) -> tuple[int, int] | None:
        """Append a block of messages; its ``(offset, length)``, or None if the write
        failed (the spill is then off: ``broken``)."""
        if self.broken:
            return None
        lengths = array("I", map(len, bodies))
        data = zlib.compress(
            b"".join(
                (_COUNT.pack(len(seqs)), array("q", seqs).tobytes(), lengths.tobytes(), *bodies)
            ),
            LEVEL,
        )
        offset = self.size
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as self)
                self._fd = self._file.fileno()
                # closed when the spill goes (or at exit), without a ResourceWarning
                weakref.finalize(self, self._file.close)
            view = memoryview(data)
            while view:
                view = view[os.pwrite(self._fd, view, offset + len(data) - len(view)) :]
        except OSError:
            self.broken = True
            return None
        self.size += len(data)
        self.raw += sum(lengths)
        self.blocks += 1
        return offset, len(data)

    def read(self, offset: int, length: int) -> Block:
        """The block written at ``offset``: its messages' seqs and bodies."""
        cache = self._cache
        block = cache.get(offset)
        if block is not None:
            cache.move_to_end(offset)
            return block
        data = os.pread(self._fd, length, offset)
        while len(data) < length:  # a regular file reads short only at its end
            more = os.pread(self._fd, length - len(data), offset + len(data))
            if not more:
                raise OSError(f"spill truncated at {offset + len(data)}")
            data += more
        payload = zlib.decompress(data)
        (count,) = _COUNT.unpack_from(payload)
        at = _COUNT.size
        seqs = array("q", payload[at : at + 8 * count])
        at += 8 * count
        lengths = array("I", payload[at : at + 4 * count])
        at += 4 * count
        bodies = []
        for n in lengths:
            bodies.append(payload[at : at + n])
            at += n
        block = cache[offset] = (seqs, bodies)
        if len(cache) > CACHED:
            cache.popitem(last=False)
        self.reads += 1
        return block

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._cache.clear()
