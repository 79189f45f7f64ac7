"""``tradepit follow --url URL [--key KEY] [--last-seq N]``: a stream in the terminal.

With a team's key it follows that team's stream (``/ws``: its acks, fills, cancels,
the market, its signals and score); without one, the public tape (``/ws/public``: what
the dashboard shows). One line per message (``gateway/offline/tape.py``), each
starting with its seq.

It keeps the rule of docs/protocol.md ("Sequencing and resync"): the seq of the last
message printed is kept, a repeat is dropped, and after any break (the gateway restarts,
the network drops, a heartbeat names a seq that never came) it reconnects with
``last_seq``, so the lines continue with the next seq: no gap, no repeat. A close 4010
(the history is gone: only with ``[gateway] archive = false``) starts again from a
snapshot, and says so. Notes about the connection go to stderr, so stdout is the tape
alone. Only the server's own dependencies are used (trio, trio-websocket): the command
ships with the server, not with the bot kit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
from typing import Any, TextIO

import trio
from trio_websocket import ConnectionClosed, HandshakeError, open_websocket_url

from gateway.offline.tape import line

KEY_ENV = "TRADEPIT_API_KEY"
#: A server never reached within this is reported as unreachable (exit 2); once it has
#: answered, breaks are waited out however long they last (a gateway restarting).
REACH_SECONDS = 3.0
#: The team stream asks for a heartbeat a second: this much silence is a lost connection.
SILENCE_SECONDS = 5.0
#: A dashboard snapshot carries every book and the leaderboard: far over the default 1 MiB.
MAX_MESSAGE = 64 * 1024 * 1024
#: Close codes after which reconnecting cannot help (docs/protocol.md, "Close codes").
FATAL = {1008: "the server refused the key or the URL"}
SNAPSHOT_REQUIRED = 4010


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print a team's stream (with its key) or the public tape (without), one line per "
        "message, resuming by seq after any disconnect."
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="a gateway's URL")
    parser.add_argument(
        "--key", default=None, help=f"the team's API key (or set {KEY_ENV}: not visible in ps)"
    )
    parser.add_argument(
        "--last-seq", type=int, default=None, help="start after this seq (0: from the start)"
    )
    parser.add_argument("--count", type=int, default=0, help="stop after this many messages")
    parser.add_argument("--raw", action="store_true", help="print each message as JSON")


def ws_url(url: str, key: str | None, last_seq: int | None) -> str:
    """The WebSocket URL: the team's stream with a key, the public one without."""
    base = "ws" + url.rstrip("/").removeprefix("http")
    query: dict[str, str] = {}
    if key:
        query = {"api_key": key, "heartbeat": "1"}
    if last_seq is not None:
        query["last_seq"] = str(last_seq)
    path = "/ws" if key else "/ws/public"
    return f"{base}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")


class Follower:
    """The seq accounting of one followed stream, across its connections."""

    def __init__(self, last_seq: int | None, count: int, raw: bool, out: TextIO) -> None:
        self.last = last_seq
        self.left = count or -1  # -1: no end
        self.raw = raw
        self.out = out

    def take(self, frame: str | bytes) -> bool:
        """Print one frame if it is the next message. False on a gap: reconnect."""
        message: dict[str, Any] = json.loads(frame)
        seq = message.get("seq")
        if seq is None:  # a heartbeat: the last seq the server sent on this connection
            return int(message.get("data", {}).get("last_seq", 0)) <= (self.last or 0)
        if self.last is not None:
            if seq <= self.last:
                return True  # a repeat: already printed
            if seq != self.last + 1:
                return False
        self.last = seq  # (with no last_seq yet, the first message is the snapshot)
        text = json.dumps(message, separators=(",", ":")) if self.raw else line(message)
        print(text, file=self.out, flush=True)
        self.left -= 1
        return True

    @property
    def done(self) -> bool:
        return self.left == 0


def note(text: str) -> None:
    print(f"follow: {text}", file=sys.stderr, flush=True)


async def follow(url: str, key: str | None, follower: Follower) -> int:
    """Follow until ``--count`` messages were printed (0), or a fatal refusal (2)."""
    reached = False
    started = trio.current_time()
    delay = 0.05
    while True:
        why = ""
        try:
            async with open_websocket_url(
                ws_url(url, key, follower.last),
                max_message_size=MAX_MESSAGE,
                connect_timeout=REACH_SECONDS,
            ) as ws:
                if reached:
                    note(f"reconnected: resuming after seq {follower.last}")
                reached = True
                delay = 0.05
                while not follower.done:
                    with trio.fail_after(SILENCE_SECONDS if key else float("inf")):
                        frame = await ws.get_message()
                    if not follower.take(frame):
                        why = f"a gap after seq {follower.last}"
                        break
                if follower.done:
                    return 0
        except ConnectionClosed as exc:
            code, reason = (exc.reason.code, exc.reason.reason) if exc.reason else (None, "")
            if code in FATAL:
                note(f"{FATAL[code]} (close {code}: {reason}): not retrying")
                return 2
            if code == SNAPSHOT_REQUIRED:
                note("the history after that seq is gone: starting again from a snapshot")
                follower.last = None
            why = f"connection closed ({code})"
        except trio.TooSlowError:
            why = f"no message or heartbeat for {SILENCE_SECONDS:.0f} s"
        except (OSError, HandshakeError, trio.BrokenResourceError) as exc:
            if not reached and trio.current_time() - started > REACH_SECONDS:
                cause = exc.__cause__ or exc.__context__ or exc  # the OSError under a handshake
                note(f"cannot reach {url} ({cause}): is the server running, is --url right?")
                return 2
            why = f"cannot connect ({type(exc).__name__})"
        if reached and why:
            note(f"{why}; resuming after seq {follower.last}")
        await trio.sleep(delay)
        delay = min(delay * 2, 1.0)


def run(args: argparse.Namespace) -> int:
    key = args.key or os.environ.get(KEY_ENV) or None
    follower = Follower(args.last_seq, args.count, args.raw, sys.stdout)
    return trio.run(follow, args.url, key, follower)
