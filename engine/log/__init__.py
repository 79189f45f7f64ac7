"""The sequenced, append-only event log (see ``framing`` for the format)."""

from __future__ import annotations

from pathlib import Path

from engine.config import LogConfig
from engine.log.errors import LogCorruptError as LogCorruptError
from engine.log.errors import LogError as LogError
from engine.log.errors import LogLockedError as LogLockedError
from engine.log.errors import NotALogError as NotALogError
from engine.log.errors import SequenceError as SequenceError
from engine.log.protocol import LogReader as LogReader
from engine.log.protocol import LogWriter as LogWriter
from engine.log.reader import FileLogReader as FileLogReader
from engine.log.writer import FileLogWriter as FileLogWriter


def open_writer(
    directory: Path, config: LogConfig | None = None, session_id: str = ""
) -> FileLogWriter:
    """The single writer of the log in ``directory`` (created if missing)."""
    return FileLogWriter(Path(directory), config or LogConfig(), session_id)


def log_directory(path: Path) -> Path:
    """The log of a session directory (its ``log/``), or ``path`` itself when it is one."""
    return path / "log" if (path / "log").is_dir() else path


def open_reader(directory: Path) -> FileLogReader:
    """A read-only reader of the log in ``directory``."""
    return FileLogReader(Path(directory))
