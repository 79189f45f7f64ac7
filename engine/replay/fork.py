"""Fork a recorded session at a seq: a new session that goes on from the same state.

Theory of operation
-------------------
The fork's log is the parent's first N records, byte for byte, then a ``ForkSession``
record naming the parent, N and the parent's state digest at N. The prefix is not
trusted: it is re-executed through a fresh core (``Reexecution``: every event, so
every tick digest, must come out as recorded) before a record of it is written.
N is always the end of a command's group (a command and its events): a state exists
only there, so a seq inside a group is taken to the end of that group.

What the parent did after N becomes the fork's *script* (``fork.script`` in the fork's
directory, read by the engine's clock, ``engine/shell/driver.py``): the other teams'
commands, each with the tick and phase it was sequenced in and its recorded time, and
the parent's clock commands among them. The taken-over team's commands are
left out; with ``others="drop"`` every team's are. The organisers' commands (admin
switches, a phase set by hand) stay: they are the session's, not a team's.

The bot under test gets its key here, never through the log (ARCHITECTURE rule 7):
a taken-over team's new key, or a new team's, is written to ``keys.json`` (0600) in
the fork's directory and returned; the log holds only its hash.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from engine import log as logmod
from engine.access import private_dir, write_private
from engine.records import (
    ROLES,
    AnyRecord,
    CancelAll,
    CancelOrder,
    ChangePhase,
    ClockTick,
    Command,
    EngineStarted,
    ForkSession,
    PhaseChanged,
    Record,
    RegisterTeam,
    StartSession,
    SubmitOrder,
    SubmitQuote,
    TeamRegistered,
    TickBudgetExpired,
    TickStarted,
)
from engine.replay.reexecute import Divergence, Reexecution

SCRIPT_FILE = "fork.script"
KEYS_FILE = "keys.json"
#: What a team sends; everything else after the fork point is the organisers' or the clock's.
TEAM_COMMANDS = (RegisterTeam, SubmitOrder, SubmitQuote, CancelOrder, CancelAll)
#: The clock's commands: the fork's own timetable sequences them (the driver decides).
CLOCK_COMMANDS = (ClockTick, ChangePhase)
#: Records written to the fork's log per append while copying the prefix.
COPY_BATCH = 4096


class ForkError(Exception):
    """The fork cannot be made; the message says why."""


class Scripted(msgspec.Struct, frozen=True, array_like=True):
    """A recorded command to sequence when the fork reaches ``(tick, phase)``."""

    tick: int
    phase: str
    command: AnyRecord  # stamped: its recorded seq and ts


class Script(msgspec.Struct, frozen=True, kw_only=True):
    parent_session_id: str
    parent_seq: int
    # every command after the fork point but the engine's own records and the dropped
    # ones, clock ticks and phase changes included: which of those the timetable made
    # is the engine's call (``engine/shell/driver.py``), with the timetable in hand
    entries: list[Scripted] = msgspec.field(default_factory=list)


@dataclass(frozen=True)
class ForkOptions:
    at_seq: int | None = None  # fork after the group holding this seq
    at_tick: int | None = None  # or after the command that started this tick (0: the start)
    takeover: str | None = None  # a recorded team the bot under test trades as
    role: str | None = None  # or a new team of this role
    team_name: str = "bot-under-test"
    others: str = "replay"  # "replay" | "drop"
    clock: str = "lockstep"
    tick_budget_seconds: float = 1.0
    until_tick: int = 0
    session_id: str | None = None  # default: the fork directory's name
    api_key: str | None = None  # the bot under test's key (default: a random one)
    wait_for_bot: bool = True  # lockstep: wait for a bot under test (False: none comes)
    start_budget_seconds: float = 60.0  # lockstep: the wait for the bot's first done


@dataclass
class Forked:
    directory: Path
    session_id: str
    parent_session_id: str
    parent_seq: int  # N: the last copied record
    parent_digest: str
    tick: int  # the tick the fork starts in
    phase: str
    records: int  # in the fork's log
    team_id: str | None = None  # the bot under test's team, if it has one
    api_key: str | None = None
    scripted: int = 0  # recorded commands the fork will replay
    dropped: dict[str, int] = field(default_factory=dict)  # commands left out, by why
    prefix_seconds: float = 0.0  # re-executing and copying the prefix (the bench's figure)


def hash_key(api_key: str) -> str:
    """The hash the log keeps of a key (the gateway's ``hash_key``)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def fork(parent: Path, out: Path, options: ForkOptions) -> Forked:
    """Write the fork of the session in ``parent`` into the new directory ``out``."""
    if options.at_seq is not None and options.at_tick is not None:
        raise ForkError("give --at-seq or --at-tick, not both")
    if options.takeover and options.role:
        raise ForkError("the bot under test takes over a team or joins with a role, not both")
    if options.role is not None and options.role not in ROLES:
        raise ForkError(f"the role is one of {', '.join(ROLES)}")
    name = options.team_name.strip()
    if options.role is not None and (not 3 <= len(name) <= 50 or not name.isprintable()):
        raise ForkError("a team name is 3-50 printable characters")
    if options.others not in ("replay", "drop"):
        raise ForkError("--others is replay or drop")
    if options.clock not in ("wall", "lockstep"):
        raise ForkError("the clock is wall or lockstep")
    if (out / "log").exists():
        raise ForkError(f"{out} holds a session already; a fork goes into a new directory")
    try:
        reader = logmod.open_reader(logmod.log_directory(Path(parent)))
    except logmod.LogError as exc:
        raise ForkError(str(exc)) from None
    try:
        return _fork(reader.read(1), out, options)
    except Divergence as exc:
        raise ForkError(
            f"the recorded session does not re-execute at seq {exc.seq} ({exc.why}); "
            "`tradepit replay verify` shows where"
        ) from None
    except logmod.LogError as exc:
        raise ForkError(f"the recorded log is damaged: {exc}") from None
    finally:
        reader.close()


def _fork(records: Iterator[AnyRecord], out: Path, options: ForkOptions) -> Forked:
    started = time.perf_counter()
    run = Reexecution()
    prefix: list[Record] = []
    first_after: AnyRecord | None = None
    for record in records:
        if isinstance(record, Command) and prefix and _past(run, options, prefix):
            first_after = record
            break
        run.feed(record)
        prefix.append(record)
    run.finish()  # the prefix ends with its last command's events
    reexecuted = time.perf_counter() - started
    core = run.core
    if core is None or not prefix or not isinstance(prefix[0], StartSession):
        raise ForkError("the recorded log holds no session")
    if options.at_seq is not None and options.at_seq > prefix[-1].seq:
        raise ForkError(f"the recorded session ends at seq {prefix[-1].seq}")
    if options.at_tick is not None and core.tick_number < options.at_tick:
        raise ForkError(f"the recorded session ends at tick {core.tick_number}")
    start = prefix[0]
    assert isinstance(start, StartSession)
    parent_id = core.session_id
    session_id = options.session_id or Path(out).resolve().name
    api_key, team_id = None, None
    name = options.team_name.strip()
    if options.role is not None and name.casefold() in core.names:
        raise ForkError(f"the team name {name!r} is taken; choose another (--team-name)")
    if options.takeover is not None:
        team = core.teams.get(options.takeover)
        if team is None or not team.api_key_hash or team.exempt:
            raise ForkError(f"{options.takeover!r} is not a registered team at the fork's seq")
        api_key, team_id = options.api_key or secrets.token_urlsafe(32), team.team_id
    if options.role is not None:
        api_key = options.api_key or secrets.token_urlsafe(32)
    head, ts = prefix[-1].seq, prefix[-1].ts
    marker = ForkSession(
        seq=head + 1,
        ts=ts,
        session_id=session_id,
        parent_session_id=parent_id,
        parent_seq=head,
        parent_digest=core.digest(),
        takeover_team_id=team_id,
        takeover_key_hash=hash_key(api_key) if api_key and team_id else "",
        others=options.others,
        clock=options.clock,
        tick_budget_seconds=options.tick_budget_seconds,
        until_tick=options.until_tick,
        wait_for_bot=options.wait_for_bot,
        start_budget_seconds=options.start_budget_seconds,
        join_name=name if options.role else "",
        join_role=options.role or "",
        join_key_hash=hash_key(api_key) if api_key and options.role else "",
    )
    tail: list[Record] = [marker, *core.apply(marker)]
    if options.role is not None:
        joined = tail[-1] if len(tail) > 1 else None
        if not isinstance(joined, TeamRegistered):
            raise ForkError(f"the bot under test cannot join as {options.role!r}")
        team_id = joined.team_id
    script = Script(parent_session_id=parent_id, parent_seq=head)
    forked = Forked(
        directory=out,
        session_id=session_id,
        parent_session_id=parent_id,
        parent_seq=head,
        parent_digest=marker.parent_digest,
        tick=core.tick_number,
        phase=core.phase,
        records=len(prefix) + len(tail),
        team_id=team_id,
        api_key=api_key,
    )
    if first_after is not None:
        _script(first_after, records, script, forked, options, core.tick_number, core.phase)
    # what the parent did in the fork's own state goes in now, right after the fork: from
    # here on each state's recorded commands enter with the clock command that makes it
    # (``engine/shell/driver.py``), so a restarted engine knows which were sequenced
    state = (core.tick_number, core.phase)
    seq, ts = tail[-1].seq, tail[-1].ts
    for entry in script.entries:
        if (entry.tick, entry.phase) != state or isinstance(entry.command, CLOCK_COMMANDS):
            break
        command = entry.command
        assert isinstance(command, Command)
        ts = max(ts, command.ts)
        stamped = msgspec.structs.replace(command, seq=seq + 1, ts=ts)
        events = core.apply(stamped)
        tail += [stamped, *events]
        seq = tail[-1].seq
    forked.records = len(prefix) + len(tail)
    private_dir(out)
    with logmod.open_writer(out / "log", session_id=session_id) as writer:
        started = time.perf_counter()
        for i in range(0, len(prefix), COPY_BATCH):
            writer.append(prefix[i : i + COPY_BATCH])
        forked.prefix_seconds = reexecuted + time.perf_counter() - started
        writer.append(tail)
    (out / SCRIPT_FILE).write_bytes(msgspec.msgpack.encode(script))
    if api_key is not None:
        keys = {"team_id": team_id, "api_key": api_key}
        write_private(out / KEYS_FILE, json.dumps(keys, indent=2) + "\n")
    return forked


def _past(run: Reexecution, options: ForkOptions, prefix: list[Record]) -> bool:
    """Whether the prefix is complete before the command about to be read."""
    if options.at_seq is not None:
        return prefix[-1].seq >= options.at_seq
    core = run.core
    tick = options.at_tick or 0
    return core is not None and core.tick_number >= tick


def _script(
    first: AnyRecord,
    rest: Iterator[AnyRecord],
    script: Script,
    forked: Forked,
    options: ForkOptions,
    tick: int,
    phase: str,
) -> None:
    """Sort the parent's records after the prefix into the fork's script."""
    takeover = options.takeover

    def drop(why: str) -> None:
        forked.dropped[why] = forked.dropped.get(why, 0) + 1

    for record in _chain(first, rest):
        if isinstance(record, TickStarted):
            tick = record.tick_number
            continue
        if isinstance(record, PhaseChanged):
            phase = record.phase
            continue
        if not isinstance(record, Command):
            continue
        if isinstance(record, EngineStarted | ForkSession | TickBudgetExpired | StartSession):
            continue  # the shell's own records: the fork's engine writes its own
        team_id = getattr(record, "team_id", None)
        is_team = isinstance(record, TEAM_COMMANDS)
        if is_team and takeover is not None and team_id == takeover:
            drop("the taken-over team's")
        elif is_team and options.others == "drop":
            drop("other teams' (--others drop)")
        else:
            script.entries.append(Scripted(tick, phase, record))
    forked.scripted = sum(not isinstance(e.command, CLOCK_COMMANDS) for e in script.entries)


def _chain(first: AnyRecord, rest: Iterator[AnyRecord]) -> Iterator[AnyRecord]:
    yield first
    yield from rest


def read_script(directory: Path) -> Script | None:
    try:
        data = (directory / SCRIPT_FILE).read_bytes()
    except FileNotFoundError:
        return None
    return msgspec.msgpack.decode(data, type=Script)
