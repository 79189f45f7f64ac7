"""The pure exchange core: commands in, events out; no I/O, clock or global randomness.

Exactly the modules here are compiled by mypyc (``engine/native.py``); when a current
build exists it is put first on this package's path, so ``engine.core.X`` is the compiled
module and plain Python otherwise.
"""

from engine import native as _native

#: Whether this process runs the core compiled by mypyc (see ``engine/native.py``).
NATIVE = _native.activate(__path__)
