"""``tradepit log verify`` on a log that a writer keeps growing while it reads."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import threading
from pathlib import Path

from engine import log as logmod
from engine.config import LogConfig
from engine.log import cli
from tests.log.test_log import records


def test_verify_of_a_growing_log_reports_the_range_it_read(tmp_path: Path) -> None:
    """The count and the range come from one head: the writer may append meanwhile."""
    writer = logmod.open_writer(tmp_path, LogConfig(fsync="off"))
    writer.append(records(2000))
    stop = threading.Event()
    appended = [2000]

    def grow() -> None:
        while not stop.is_set():
            writer.append(records(50, appended[0] + 1))
            appended[0] += 50

    thread = threading.Thread(target=grow)
    thread.start()
    try:
        reports = []
        for _ in range(5):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = cli.run(argparse.Namespace(directory=tmp_path, log_command="verify"))
            assert code == 0, out.getvalue()
            reports.append(out.getvalue())
    finally:
        stop.set()
        thread.join()
        writer.close()
    for report in reports:
        match = re.match(r"OK: (\d+) records, seqs 1\.\.(\d+), in ", report)
        assert match is not None, report
        assert match.group(1) == match.group(2), report
    assert appended[0] > 2000  # the log really grew while verify ran
