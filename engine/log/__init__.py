"""The sequenced, append-only event log (see ``framing`` for the format).

The file reader and writer are imported when first named, not with the package: a
process that only needs ``engine.log.errors`` or the NATS relay (whose start-up a
remote gateway's catch-up waits for) does not pay for trio and the config.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from engine.log.errors import LogCorruptError as LogCorruptError
from engine.log.errors import LogError as LogError
from engine.log.errors import LogLockedError as LogLockedError
from engine.log.errors import NotALogError as NotALogError
from engine.log.errors import SequenceError as SequenceError

if TYPE_CHECKING:
    from engine.config import LogConfig
    from engine.log.protocol import LogReader as LogReader
    from engine.log.protocol import LogWriter as LogWriter
    from engine.log.reader import FileLogReader as FileLogReader
    from engine.log.writer import FileLogWriter as FileLogWriter

_LAZY = {
    "LogReader": "engine.log.protocol",
    "LogWriter": "engine.log.protocol",
    "FileLogReader": "engine.log.reader",
    "FileLogWriter": "engine.log.writer",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def open_writer(
    directory: Path, config: LogConfig | None = None, session_id: str = ""
) -> FileLogWriter:
    """The single writer of the log in ``directory`` (created if missing)."""
    from engine.config import LogConfig
    from engine.log.writer import FileLogWriter

    return FileLogWriter(Path(directory), config or LogConfig(), session_id)


def log_directory(path: Path) -> Path:
    """The log of a session directory (its ``log/``), or ``path`` itself when it is one."""
    return path / "log" if (path / "log").is_dir() else path


def open_reader(directory: Path) -> FileLogReader:
    """A read-only reader of the log in ``directory``."""
    from engine.log.reader import FileLogReader

    return FileLogReader(Path(directory))
