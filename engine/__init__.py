"""tradepit engine: the pure exchange core, the sequenced log and the trio shell that joins them."""

from engine import native as _native

#: Whether this process runs the core compiled by mypyc (see ``engine/native.py``).
NATIVE = _native.activate(__path__)
