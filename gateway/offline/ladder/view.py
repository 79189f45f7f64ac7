"""The ladder's files as read-only views: the table and the last heats, one heat, one
bot's heats and failures, a bot's output in a heat.

What both pages show: ``tradepit ladder DIR --serve PORT`` (``web``) and a gateway
started with ``--ladder DIR`` (``gateway.web.ladder``, which is handed a ``Ladder`` by
``gateway.main``: the web ring does not import the offline commands).

Nothing outside DIR is ever read: a heat is a number, a bot's name passes the roster's
own rule (``roster.check_name``: one path segment), and a bot's output file is resolved
and read only if it is still under DIR (a bot writes its own output files and could
leave a symlink in their place).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gateway.offline.ladder import ratings, roster

LAST_HEATS = 20
#: A bot's output beyond this is cut to its last bytes: a bot printing in a loop must not
#: make a page read hold gigabytes in the server's memory.
OUTPUT_TAIL_BYTES = 1 << 20
STREAMS = ("out", "err")


class Ladder:
    """One ladder directory; ``api`` is where its JSON routes are (the links in views)."""

    def __init__(self, root: Path, api: str = "/ladder", label: str | None = None) -> None:
        self.root = Path(root)
        self.api = api
        self.label = label or str(root)  # DIR as the organiser typed it: the pages' commands
        self._folded: tuple[Any, list[dict[str, Any]], list[dict[str, Any]]] | None = None

    def _stamp(self) -> tuple[Any, ...]:
        """What the fold depends on: the heats' files and the roster. The runner writes
        both by rename, so a changed file has a new mtime."""
        files = sorted((self.root / "heats").glob("heat-*/heat.json"))
        files.append(self.root / "roster.json")
        stamp: list[tuple[str, str, int | None]] = []
        for path in files:
            try:
                stamp.append((path.name, path.parent.name, path.stat().st_mtime_ns))
            except FileNotFoundError:
                stamp.append((path.name, path.parent.name, None))
        return tuple(stamp)

    def _heats_and_table(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        # the fold re-rates every heat (openskill, in Python): kept until a file changes,
        # so a page read costs a directory listing, not a fold
        stamp = self._stamp()
        folded = self._folded
        if folded is None or folded[0] != stamp:
            heats = ratings.heats_of(self.root)
            rows = ratings.rows(ratings.fold(heats), roster.current(self.root))
            folded = self._folded = (stamp, heats, rows)
        return folded[1], folded[2]

    def table(self) -> list[dict[str, Any]]:
        return self._heats_and_table()[1]

    def overview(self) -> dict[str, Any]:
        """The table (``--table --json``) and the last heats, newest first."""
        heats, table = self._heats_and_table()
        return {"table": table, "heats": [self._brief(h) for h in heats[-LAST_HEATS:][::-1]]}

    def session_dir(self, heat: dict[str, Any]) -> str | None:
        """The heat's session, relative to DIR (None for a void heat: no session)."""
        if not heat.get("session"):
            return None
        return f"heats/heat-{int(heat['number']):04d}/{heat['session']}"

    def _brief(self, h: dict[str, Any]) -> dict[str, Any]:
        return {
            "number": h["number"],
            "seed": h["seed"],
            "rated": h.get("rated", True),
            "started": h.get("started"),
            "void": h.get("void"),
            "session_dir": self.session_dir(h),
            "url": f"{self.api}/heats/{h['number']}",
            "teams": [
                {k: t[k] for k in ("name", "role", "rank", "score", "failed")} for t in h["teams"]
            ],
        }

    def heat(self, number: int) -> dict[str, Any] | None:
        """The heat's ``heat.json`` as stored, with its session's path under DIR."""
        file = self.root / "heats" / f"heat-{number:04d}" / "heat.json"
        if not file.is_file():
            return None
        record: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        return {**record, "session_dir": self.session_dir(record)}

    @staticmethod
    def valid_name(name: str) -> bool:
        try:
            roster.check_name(name)
        except ValueError:
            return False
        return True

    def team(self, name: str) -> dict[str, Any] | None:
        """A bot's versions, heats, places and failures; None if the ladder never had it.
        ``ValueError`` if ``name`` cannot be a bot's name."""
        roster.check_name(name)
        heats, table = self._heats_and_table()
        entry = roster.load(self.root).get(name)
        mine = []
        bots = f"bots/{quote(name, safe='')}"  # a name may hold what a URL may not
        for h in heats:
            t = next((t for t in h["teams"] if t["name"] == name), None)
            if t is None:
                continue
            mine.append({"heat": h["number"], "version": t["version"], "rank": t["rank"],
                         "score": t["score"], "failed": t["failed"],
                         "session_dir": self.session_dir(h),
                         "url": f"{self.api}/heats/{h['number']}",
                         "out": f"{self.api}/heats/{h['number']}/{bots}.out",
                         "err": f"{self.api}/heats/{h['number']}/{bots}.err"})  # fmt: skip
        if entry is None and not mine:
            return None
        rows = [r for r in table if r["name"] == name]
        return {"name": name, "role": entry.role if entry else None,
                "version": entry.version if entry else None, "rating": rows[0] if rows else None,
                "heats": mine[::-1], "errors": [m for m in mine[::-1] if m["failed"]]}  # fmt: skip

    def output(self, number: int, name: str, stream: str) -> bytes | None:
        """What bot ``name`` printed on ``stream`` (out or err) in heat ``number``, its
        last ``OUTPUT_TAIL_BYTES`` at most; None if there is no such file under DIR.
        ``ValueError`` if ``name`` cannot be a bot's name."""
        roster.check_name(name)
        if stream not in STREAMS:
            raise ValueError(f"a bot's output is .out or .err, not {stream[:8]!r}")
        file = self.root / "heats" / f"heat-{number:04d}" / "bots" / f"{name}.{stream}"
        try:
            real = file.resolve(strict=True)
        except (FileNotFoundError, RuntimeError):  # missing, or a symlink loop
            return None
        if not real.is_file() or not real.is_relative_to(self.root.resolve()):
            return None
        with real.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            if size <= OUTPUT_TAIL_BYTES:
                f.seek(0)
                return f.read()
            f.seek(size - OUTPUT_TAIL_BYTES)
            cut = f"[the first {size - OUTPUT_TAIL_BYTES} bytes are cut: the whole file is "
            cut += f"{self.label}/heats/heat-{number:04d}/bots/{name}.{stream}]\n"
            return cut.encode() + f.read()
