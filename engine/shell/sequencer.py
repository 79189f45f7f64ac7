"""The engine shell: sequence commands, apply them to the pure core, make them durable.

Theory of operation
-------------------
One sequencer task owns the core and the log writer. Gateways (and the clock task) put
commands into one bounded inbox. The sequencer takes whatever is waiting (up to
``engine.max_batch``), stamps each command with the next ``seq`` and the sequencer time,
applies it to the core, and appends the command plus its events to the log as one batch
with one fsync (group commit). Only after the append returned does it answer the
callers: an answered command is durable (docs/architecture.md, The contract, rule 2).

If an append fails (disk full, read-only dir), the core has run ahead of the log, so
the engine refuses the batch with ``SERVICE_UNAVAILABLE``, then rebuilds the core
from the log and keeps refusing until a probe append succeeds again.

On start the core is rebuilt by re-executing every recorded command; the events it
produces must equal the recorded ones (else the log belongs to other rules: refuse).
A command whose events were cut off by a torn tail is completed from the re-execution:
it was never answered, and its events are a function of the command.

With ``nats`` (``--nats URL``) every batch is also published to the session's
JetStream stream before the answer (``engine.log.nats.writer``); an empty data dir is
rebuilt from the stream; an engine already serving the session makes this one refuse
to start, and one whose append JetStream refuses (``Fenced``) stops.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import trio

from engine import config as configmod
from engine import log as logmod
from engine.access import SECRET_FILE, new_secret, private_dir, read_secret, write_private
from engine.core.accounts import Account
from engine.core.exchange import Exchange
from engine.log.nats.messages import Fenced
from engine.records import (
    AddInvites,
    AnyRecord,
    CancelAll,
    CancelOrder,
    ChangePhase,
    Command,
    DisableTeam,
    EnableTeam,
    EndCompetition,
    EngineStarted,
    Event,
    ForkSession,
    Record,
    RegisterTeam,
    SetClock,
    SetHouse,
    SetRegistration,
    SetTrading,
    StartSession,
    SubmitOrder,
    SubmitQuote,
    stamp,
)
from engine.replay.fork import read_script
from engine.replay.reexecute import Divergence, Reexecution
from engine.shell.clock import START_BUDGET_SECONDS, Clock, LockstepClock, WallClock
from engine.shell.driver import Driver
from engine.shell.rounds import Answer, Inbox, RoundAnswer
from engine.shell.waste import WasteBudget
from engine.wire import (
    ADDR_FILE,
    MAX_FRAME,
    MAX_HELLO_FRAME,
    Done,
    FrameError,
    FrameReader,
    Hello,
    Refused,
    Reply,
    Request,
    WireMessage,
    pack_frame,
)

if TYPE_CHECKING:
    from engine.log.nats.access import NatsAccess
    from engine.log.nats.client import NatsLog

log = logging.getLogger("tradepit.engine")

#: Commands a gateway may send; the rest are the engine's own (clock, session).
FROM_GATEWAY = (
    RegisterTeam,
    SubmitOrder,
    SubmitQuote,
    CancelOrder,
    CancelAll,
    # admin commands: a gateway forwards them only after checking the admin token
    ChangePhase,
    DisableTeam,
    SetHouse,
    SetClock,
    SetRegistration,
    SetTrading,
    EnableTeam,
    EndCompetition,
    AddInvites,
)


#: How long a new connection has to present the secret.
HELLO_SECONDS = 5.0


class EngineError(Exception):
    """The engine cannot start; the message says why."""


def log_dir(data_dir: Path) -> Path:
    return data_dir / "log"


@dataclass(frozen=True)
class NatsOptions:
    """``--nats URL --session NAME``: mirror the log to that session's stream.

    ``key_file`` (``--nats-key``; else ``TRADEPIT_NATS_KEY``; else ``DATA_DIR/nats.key``,
    created for a new stream) seals the stream and the commands; ``access`` holds the
    NATS credentials and TLS files (``engine.log.nats.access``)."""

    url: str
    session: str
    replicas: int = 1
    key_file: Path | None = None
    access: NatsAccess | None = None


class Engine:
    def __init__(
        self,
        data_dir: Path,
        config: configmod.Config,
        seed: int | None = None,
        *,
        now_ns: Callable[[], int] = time.time_ns,
        append_in_thread: bool = True,
        nats: NatsOptions | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.nats = nats
        self.nats_log: NatsLog | None = None
        self.config = config
        self.seed = seed
        self.now_ns = now_ns
        # a thread keeps the loop free during fsync (``_append_here`` says when it pays);
        # inline suits virtual-time tests, and a log that is never fsynced (a backtest's),
        # where a write costs less than the hop
        self.append_in_thread = append_in_thread and config.log.fsync != "off"
        self.writer: logmod.LogWriter | None = None
        self.core: Exchange | None = None
        self.next_seq = 1
        self.last_ts = 0
        self.healthy = True
        self.problem = ""
        self._next_heal = 0.0  # trio time of the next attempt to reopen a failed log
        self.address: tuple[str, int] | None = None
        self.secret = ""  # set by ``serve``: what a connection must present
        self.refused_connections = 0
        self.waste = WasteBudget(config)
        self.fork: ForkSession | None = None  # the session's fork record, if it is a fork
        self.fork_teams: tuple[str, ...] = ()  # the teams it had then
        self.scripted_keys: set[str] = set()  # key hashes of the teams a fork's script registers
        self.clock: Clock = WallClock(Driver(config.schedule), now_ns)
        self._inbox_send, self._inbox = trio.open_memory_channel[Inbox](10_000)
        #: set once the closing bell is durable: nothing more can happen in this session,
        #: and the process exits for ``tradepit serve`` to mark the day ended
        self.day_ended = trio.Event()

    # ------------------------------------------------------------------ start

    def open(self) -> None:
        """Open (or create) the log and bring the core up to its head."""
        private_dir(self.data_dir)
        if self.nats is not None and self.nats_log is None:
            self.nats_log = _connect(self.nats, _session_key(self.nats, self.data_dir))
        self.writer = self._open_writer()
        if self.writer.head_seq == 0:
            self._start_session()
        else:
            self._recover()
        self.clock = self._choose_clock()
        self._append_now([EngineStarted(recovered_seq=self.next_seq - 1)])

    def _choose_clock(self) -> Clock:
        """The session's clock: the fork record's choice, else the config's."""
        fork, schedule = self.fork, self.config.schedule
        # made with --others drop, the script holds the organisers' commands only
        script = read_script(self.data_dir) if fork is not None else None
        driver = Driver(schedule, script, fork.until_tick if fork is not None else 0)
        if self.core is not None:
            driver.started(self.core.tick_number, self.core.phase)
        self.scripted_keys = driver.registered
        if (fork.clock if fork is not None else schedule.clock) == "wall":
            return WallClock(driver, self.now_ns)
        budget = fork.tick_budget_seconds if fork is not None else schedule.tick_budget_seconds
        # a fork made without a bot under test runs at once; any other waits for its bot
        alone = fork is not None and not fork.wait_for_bot
        start = fork.start_budget_seconds if fork is not None else START_BUDGET_SECONDS
        return LockstepClock(driver, budget, wait_for_bot=not alone, start_budget_seconds=start)

    def bots_under_test(self) -> list[str]:
        """The teams a lockstep clock waits for (``engine/shell/clock.py`` says which)."""
        core = self.core
        if core is None:
            return []
        return [team.team_id for team in core.teams.values() if self._under_test(team)]

    def is_bot_under_test(self, team_id: str) -> bool:
        core = self.core
        team = core.teams.get(team_id) if core is not None else None
        return team is not None and self._under_test(team)

    def _under_test(self, team: Account) -> bool:
        fork = self.fork
        return (
            bool(team.api_key_hash)
            and not team.exempt
            and not team.disabled
            and (
                team.team_id not in self.fork_teams
                or (fork is not None and team.team_id == fork.takeover_team_id)
            )
            and team.api_key_hash not in self.scripted_keys
        )

    def _open_writer(self) -> logmod.LogWriter:
        local = logmod.open_writer(log_dir(self.data_dir), self.config.log)
        if self.nats_log is None:
            return local
        from engine.log.nats.writer import MirroredWriter, StreamWriter, reconcile

        try:
            stream = StreamWriter(self.nats_log, self.nats.replicas if self.nats else 1)
            reconcile(local, self._read_local, stream)
        except BaseException:
            local.close()
            raise
        return MirroredWriter(local, stream)

    def _read_local(self, from_seq: int, to_seq: int) -> Iterator[AnyRecord]:
        with logmod.open_reader(log_dir(self.data_dir)) as reader:
            yield from reader.read(from_seq, to_seq)

    def _start_session(self) -> None:
        seed = self.seed if self.seed is not None else secrets.randbits(63)
        session_id = self.data_dir.resolve().name
        recorded = configmod.recorded(self.config)  # no secret in the log
        self.core = Exchange(recorded, seed, session_id)
        start = StartSession(
            session_id=session_id,
            seed=seed,
            config=configmod.canonical_json(recorded),
            config_hash=configmod.config_hash(recorded),
        )
        self._append_now([start])
        log.info("new session %s (seed %d) in %s", session_id, seed, self.data_dir)

    def _recover(self) -> None:
        assert self.writer is not None
        reader = logmod.open_reader(log_dir(self.data_dir))
        try:
            run = reexecute(reader.read(1))
        finally:
            reader.close()
        core, head, missing = run.core, run.head, run.missing()
        assert core is not None
        self.core = core
        self.last_ts = max(self.last_ts, run.last_ts)
        self.fork, self.fork_teams = run.fork, run.fork_teams
        self.config = core.config
        self.waste = WasteBudget(self.config)  # the rules of the session, as recorded
        self.next_seq = head + 1
        if missing:
            log.warning("completing %d events of a command cut off by a torn tail", len(missing))
            self.writer.append(list(missing))
            self.next_seq = missing[-1].seq + 1
        log.info("resumed %s at seq %d", self.data_dir, self.next_seq - 1)

    def _append_now(self, commands: list[Command]) -> list[Record]:
        """Sequence and append commands synchronously (start-up only)."""
        assert self.writer is not None
        records: list[Record] = []
        for command in commands:
            records.extend(self._sequence(command)[1])
        self.writer.append(records)
        return records

    def _sequence(self, command: Command) -> tuple[int, list[Record]]:
        # the engine's own commands may carry their time (a lockstep tick, a fork's
        # recorded command); a gateway's never do (``_connection`` refuses them)
        ts = max(self.last_ts, command.ts or self.clock.now_ns())
        self.last_ts = ts
        seq = self.next_seq
        stamped = stamp(command, seq, ts)
        if isinstance(stamped, StartSession):
            self.core = Exchange(
                configmod.from_json(stamped.config), stamped.seed, stamped.session_id
            )
        assert self.core is not None
        events = self.core.apply(stamped)
        self.next_seq = seq + 1 + len(events)
        if isinstance(stamped, (DisableTeam, EnableTeam)):
            self.clock.teams_changed()
        return seq, [stamped, *events]

    # ------------------------------------------------------------------ serve

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: bool = True,
        *,
        task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        if self.writer is None:
            self.open()
        try:
            async with trio.open_nursery() as nursery:
                listeners = await trio.open_tcp_listeners(port, host=host)
                sockname = listeners[0].socket.getsockname()
                self.address = (sockname[0], sockname[1])
                # the secret before the address: a gateway that finds one can read the other
                self.secret = new_secret(self.data_dir)
                write_private(self.data_dir / ADDR_FILE, f"{sockname[0]}:{sockname[1]}\n")
                nursery.start_soon(self._sequencer)
                nursery.start_soon(trio.serve_listeners, self._connection, listeners)
                if self.nats_log is not None:
                    from engine.log.nats.commands import serve_commands

                    await nursery.start(serve_commands, self.nats_log, self.offer)
                if clock:
                    nursery.start_soon(self.clock.run, self)
                task_status.started(self.address)
                if self.core is not None and self.core.ended_seq:  # resumed after the bell
                    self.day_ended.set()
        finally:
            # the secret dies with this engine (the next start writes its own), so a
            # session directory left behind holds no secret (operations.md: safe to
            # share); removed while the log's lock is still held, and only if it is ours
            if self.secret and read_secret(self.data_dir) == self.secret:
                (self.data_dir / SECRET_FILE).unlink(missing_ok=True)
            self.close()
            if self.nats_log is not None:
                self.nats_log.close()
                self.nats_log = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def submit(self, command: Command) -> Reply | Refused:
        """Sequence one command from inside the engine process and wait for its answer."""
        done = trio.Event()
        box: list[Reply | Refused] = []

        def answer(result: Reply | Refused) -> None:
            box.append(result)
            done.set()

        await self._inbox_send.send((command, 0, answer))
        await done.wait()
        return box[0]

    async def submit_all(self, commands: list[Command]) -> list[Reply | Refused]:
        """Sequence the engine's own commands one after the other, with nothing between:
        they enter the inbox together, so no gateway's command can fall among them."""
        answers: list[Reply | Refused] = []
        done = trio.Event()

        def answer(result: Reply | Refused) -> None:
            answers.append(result)
            if len(answers) == len(commands):
                done.set()

        if not commands:
            return answers
        for command in commands:
            try:
                self._inbox_send.send_nowait((command, 0, answer))
            except trio.WouldBlock:  # a full inbox: order is kept, atomicity is not
                await self._inbox_send.send((command, 0, answer))
        await done.wait()
        return answers

    def send_round(self, requests: list[Inbox]) -> None:
        """Queue a round of held requests (``engine/shell/rounds.py``) in one piece, now:
        nothing can fall among them, and the sequencer writes them as one batch. The
        clock calls it from code that never waits: a full inbox refuses the rest."""
        for item in requests:
            try:
                self._inbox_send.send_nowait(item)
            except trio.WouldBlock:
                _, request_id, answer = item
                if answer is not None:
                    answer(Refused(request_id, "SERVICE_UNAVAILABLE", "the engine is busy", 0.5))

    def _holder(self) -> Callable[[Command, int, Answer], bool] | None:
        """Where a gateway's command may be held for its round: only a lockstep clock
        holds any, so under the wall clock a command goes on as before, unlooked at."""
        clock = self.clock
        return clock.hold if isinstance(clock, LockstepClock) else None

    def offer(self, command: AnyRecord, request_id: int, answer: Answer) -> None:
        """Queue a gateway's command without waiting (NATS requests), or refuse it now."""
        if not isinstance(command, FROM_GATEWAY) or command.ts:
            answer(Refused(request_id, "FORBIDDEN", "not a gateway command"))
            return
        hold = self._holder()
        if hold is not None and hold(command, request_id, answer):
            return
        try:
            self._inbox_send.send_nowait((command, request_id, answer))
        except trio.WouldBlock:
            answer(Refused(request_id, "SERVICE_UNAVAILABLE", "the engine is busy", 0.5))

    async def _connection(self, stream: trio.SocketStream) -> None:
        replies_send, replies = trio.open_memory_channel[WireMessage](10_000)

        def answer(result: Reply | Refused) -> None:
            # a gateway that stopped reading loses answers; it never stalls the engine
            with contextlib.suppress(
                trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError
            ):
                replies_send.send_nowait(result)

        async def write() -> None:
            async for message in replies:
                await stream.send_all(pack_frame(message))

        async with stream:
            reader = FrameReader(MAX_HELLO_FRAME)
            refusal = await self._hello(stream, reader)
            if refusal:
                self.refused_connections += 1
                log.warning("refused an engine connection: %s", refusal)
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await stream.send_all(pack_frame(Refused(0, "UNAUTHORIZED", refusal)))
                return
            reader.max_frame = MAX_FRAME
            hold = self._holder()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(write)
                try:
                    data = b""  # what came with the hello is in the reader already
                    while True:
                        for message in reader.feed(data):
                            if isinstance(message, Done):
                                tick = self.clock.done(message.team_id, message.tick)
                                answer(Reply(message.id, tick, []))
                                continue
                            if not isinstance(message, Request):
                                continue
                            if not isinstance(message.command, FROM_GATEWAY) or message.command.ts:
                                answer(Refused(message.id, "FORBIDDEN", "not a gateway command"))
                                continue
                            # held before the next frame is read: a bot's request and
                            # then its done, on one connection, are seen in that order
                            if hold is not None and hold(message.command, message.id, answer):
                                continue
                            await self._inbox_send.send((message.command, message.id, answer))
                        data = await stream.receive_some()
                        if not data:
                            break
                except (trio.BrokenResourceError, FrameError) as exc:
                    log.warning("gateway connection dropped: %s", exc)
                finally:
                    nursery.cancel_scope.cancel()

    async def _hello(self, stream: trio.SocketStream, reader: FrameReader) -> str:
        """Read the connection's first frame: '' if it is the secret, else why not."""
        with trio.move_on_after(HELLO_SECONDS):
            try:
                while True:
                    data = await stream.receive_some(MAX_HELLO_FRAME)
                    if not data:
                        return "closed before its hello"
                    first = reader.feed(data, most=1)
                    if first:
                        break
            except (trio.BrokenResourceError, FrameError) as exc:
                return f"no hello ({exc})"
            hello = first[0]
            if not isinstance(hello, Hello):
                return "the first frame is not a hello"
            if not self.secret or not hmac.compare_digest(
                hello.secret.encode(), self.secret.encode()
            ):
                return "wrong secret"
            return ""
        return f"no hello within {HELLO_SECONDS} s"

    async def _sequencer(self) -> None:
        max_batch = self.config.engine.max_batch
        # a batch is one frame of the log, and what arrives together depends on timing.
        # Under a lockstep clock, whose log must be the same bytes whatever the machine's
        # load, a batch is one request (a gateway's command), one group of the engine's
        # own (``submit_all``: a tick's commands, which share one answer) or one round
        # of the bots' held requests (``send_round``): never more
        lockstep = self.clock.kind == "lockstep"
        carried: Inbox | None = None
        while True:
            if carried is None:
                carried = await self._inbox.receive()
            batch, carried = [carried], None
            while len(batch) < max_batch:
                try:
                    item = self._inbox.receive_nowait()
                except trio.WouldBlock:
                    break
                if lockstep and not _one_batch(batch[0], item):
                    carried = item  # the next group's first: it starts the next batch
                    break
                batch.append(item)
            await self._commit(batch)

    async def _commit(self, batch: list[Inbox]) -> None:
        if not self.healthy:
            await self._try_heal()
        if not self.healthy:
            for _, request_id, answer in batch:
                if answer is not None:
                    answer(Refused(request_id, "SERVICE_UNAVAILABLE", self.problem, 1.0))
            return
        records: list[Record] = []
        answers: list[tuple[Answer | None, Reply]] = []
        refused: list[tuple[Answer, Refused]] = []
        bell = False
        for command, request_id, answer in batch:
            wait = self.waste.retry_after(command, self._role(command), self.now_ns())
            if wait is not None and answer is not None:
                why = "too many refused, repeated or empty requests from this team: slow down"
                refused.append((answer, Refused(request_id, "RATE_LIMIT_EXCEEDED", why, wait)))
                continue
            seq, produced = self._sequence(command)
            bell = bell or type(command) is EndCompetition
            records.extend(produced)
            events = cast(list[AnyRecord], produced[1:])
            self.waste.spend(command, events, self.last_ts)
            answers.append((answer, Reply(request_id, seq, events)))
        for answer, refusal in refused:
            answer(refusal)  # never sequenced: nothing to make durable first
        if not records:
            return
        writer = self.writer
        assert writer is not None
        try:
            if self._append_here(batch):
                writer.append(records)
            else:
                await trio.to_thread.run_sync(writer.append, records)
        except (OSError, logmod.LogError) as exc:
            self._fail(f"the log cannot be written ({exc}); orders are refused until it can")
            for answer, reply in answers:
                if answer is not None:
                    answer(Refused(reply.id, "SERVICE_UNAVAILABLE", self.problem, 1.0))
            if isinstance(exc, Fenced):
                raise EngineError(f"fenced: {exc}; this engine stops") from None
            return
        for answer, reply in answers:
            if answer is not None:
                answer(reply)
        if bell and self.core is not None and self.core.ended_seq:
            self.day_ended.set()

    def _append_here(self, batch: list[Inbox]) -> bool:
        """Whether to append ``batch`` on the loop rather than in a worker thread.

        The sequencer awaits the append either way; the thread only lets the loop read
        the gateways' next commands and write the last answers during the fsync. That
        pays under load. For a lone command with nothing else waiting it does not: the
        hop to the worker and back cost ~0.23 ms on this project's 2-core machines, more
        than the local write and fsync it hides (~0.2 ms), and the loop has nothing to
        do meanwhile (BENCHMARKS.md, "The engine's hop"). An append that also goes to
        NATS waits on the network, and always leaves the loop."""
        if not self.append_in_thread:
            return True
        if self.nats_log is not None or len(batch) > 1:
            return False
        return not self._inbox.statistics().current_buffer_used

    def _role(self, command: Command) -> str | None:
        team_id = getattr(command, "team_id", None)
        account = self.core.teams.get(team_id) if self.core and team_id else None
        return account.role if account is not None else None

    def _fail(self, problem: str) -> None:
        log.error("%s", problem)
        self.healthy = False
        self.problem = problem
        self.close()

    async def _try_heal(self) -> None:
        """Reopen the log (truncating any torn tail) and rebuild the core from it.

        At most once a second: each attempt rescans the log.
        """
        if trio.current_time() < self._next_heal:
            return
        self._next_heal = trio.current_time() + 1.0
        try:
            await trio.to_thread.run_sync(self._reopen)
        except (OSError, logmod.LogError, EngineError) as exc:
            self.close()
            self.problem = f"the log cannot be written ({exc}); orders are refused until it can"
            return
        self.healthy = True
        self.problem = ""
        log.warning("the log is writable again; accepting commands at seq %d", self.next_seq)

    def _reopen(self) -> None:
        self.close()
        self.writer = self._open_writer()
        self._recover()
        self._append_now([EngineStarted(recovered_seq=self.next_seq - 1)])


def _one_batch(first: Inbox, item: Inbox) -> bool:
    """Under a lockstep clock: whether ``item`` joins the batch ``first`` began. A round's
    requests carry their round's mark; the engine's own group has id 0 and one answer
    for all of it; any other gateway command has its own request id, and is alone."""
    a, b = first[2], item[2]
    if type(a) is RoundAnswer:
        return type(b) is RoundAnswer and a.round == b.round
    return not first[1] and not item[1] and b is a


def rebuild(records: Iterable[AnyRecord]) -> tuple[Exchange, int, list[Event]]:
    """Re-execute a recorded log into a fresh core.

    Returns the core, the last recorded seq, and the events missing after the last
    command if its group was cut off by a torn tail. Raises ``EngineError`` when a
    recorded event differs from the re-executed one.
    """
    run = reexecute(records)
    assert run.core is not None
    return run.core, run.head, run.missing()


def reexecute(records: Iterable[AnyRecord]) -> Reexecution:
    """``rebuild``'s re-execution, whole: also the last time and the fork record."""
    run = Reexecution()
    try:
        for record in records:
            run.feed(record)
    except Divergence as exc:
        raise EngineError(
            f"the log diverges from this engine at seq {exc.seq} ({exc.why}); "
            "run `tradepit replay verify` on it for details"
        ) from None
    if run.core is None:
        raise EngineError("the log holds no session record")
    return run


#: Where an engine keeps the session key when none is given (``NatsOptions``).
KEY_FILE = "nats.key"


def _session_key(options: NatsOptions, data_dir: Path) -> bytes:
    """The key given, else the data dir's, else a new one there.

    A new key over a stream that another key sealed finds no message of its own there,
    and the stream writer refuses it (``StreamWriter``): a failover engine needs the
    session's key file, as docs/nats.md says."""
    from engine.log.nats.access import new_key, read_key

    key = read_key(options.key_file)
    if key is not None:
        return key
    path = data_dir / KEY_FILE
    if path.exists():
        found = read_key(path)
        assert found is not None
        return found
    log.info("new session key in %s: give it to the gateways (--nats-key)", path)
    return new_key(path)


def _connect(options: NatsOptions, key: bytes) -> NatsLog:
    """The session's stream, unless a live engine serves the session already."""
    from engine.log.nats.access import redact
    from engine.log.nats.client import NatsLog
    from engine.log.nats.commands import who_serves

    nats_log = NatsLog(
        options.url,
        options.session,
        key=key,
        access=options.access,
        client_name="tradepit-engine",
    )
    try:
        other = who_serves(nats_log)
    except BaseException:
        nats_log.close()
        raise
    if other is not None:
        nats_log.close()
        raise EngineError(
            f"session {options.session!r} is served by a live engine ({other}) on "
            f"{redact(options.url)}: refusing to start a second one"
        )
    return nats_log
