"""The roster: submitted bots, each a shell command (or a Python file) and a role.

A bot's *version* is the content hash of what would run: the command line and the
bytes of every file it names that exists. Replacing a bot's file or command makes a
new version, which starts a new rating (a better bot should not inherit the old one's
losses); the old version's heats stay in the history.

``DIR/roster.json`` is written only by ``--add`` (and read by the runner before each
heat), atomically by rename, so a bot can be added while the ladder runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.records import ROLES

EXAMPLES = ("market_maker", "hedge_fund", "arbitrage", "retail")


@dataclass(frozen=True)
class Entry:
    name: str  # the team: also what the per-team caps count
    role: str
    command: str
    version: str
    added: float  # wall time of the --add (for the order of equal candidates)

    @property
    def key(self) -> str:
        """A rating belongs to a version, not a name."""
        return f"{self.name}@{self.version}"


def command_for(bot: str) -> str:
    """A Python file runs with this interpreter; anything else is a shell command."""
    if bot.endswith(".py") and Path(bot).is_file():
        return f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(bot).resolve()))}"
    return bot


def version_of(command: str) -> str:
    digest = hashlib.sha256(command.encode())
    try:
        words = shlex.split(command)
    except ValueError:
        words = []
    for word in words:
        path = Path(word)
        # the interpreter is the ladder's own: hashing it would version every bot at
        # each upgrade of Python
        if word != sys.executable and path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def example(role: str) -> Entry:
    """The bot kit's example of a role, as practice heats use it."""
    command = f"{shlex.quote(sys.executable)} -m tradepit.examples.{role}"
    return Entry(f"ex-{role}", role, command, version_of(command), 0.0)


def load(root: Path) -> dict[str, Entry]:
    path = root / "roster.json"
    if not path.exists():
        return {}
    rows = json.loads(path.read_text(encoding="utf-8"))
    return {r["name"]: Entry(**r) for r in rows}


def current(root: Path) -> set[str] | None:
    """The versions the table shows: the roster's (None: no roster, every version)."""
    bots = load(root)
    return {e.key for e in bots.values()} if bots else None


def check_name(name: str) -> str:
    """A bot's name names its files (``bots/NAME.out``) and its page: one path segment,
    never a hidden file, so a name read from a URL can never reach outside the ladder."""
    if not name or "/" in name or "\\" in name or "\0" in name or name.startswith("."):
        raise ValueError(f"a bot's name is a plain word, not {name[:64]!r}")
    return name


def add(root: Path, name: str, role: str, bot: str) -> Entry:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    check_name(name)
    command = command_for(bot)
    entry = Entry(name, role, command, version_of(command), time.time())
    roster = load(root)
    old = roster.get(name)
    if old is not None and (old.version, old.role) == (entry.version, entry.role):
        return old  # the same bot again: its rating goes on
    roster[name] = entry
    save(root, roster)
    return entry


def save(root: Path, roster: dict[str, Entry]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / "roster.json.tmp"
    tmp.write_text(json.dumps([asdict(e) for e in roster.values()], indent=1) + "\n")
    os.replace(tmp, root / "roster.json")
