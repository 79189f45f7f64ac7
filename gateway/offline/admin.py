"""``tradepit admin ACTION [ARG] --url URL``: the organiser's admin routes from a terminal.

Each action is one ``POST /admin/...`` with ``X-Admin-Token`` from the environment's
``TRADEPIT_ADMIN_TOKEN`` (never an argument: a command line is visible to every local
user in ``ps``, and lands in shell history). ``status`` reads ``GET /health`` instead.
Prints the answer's ``data`` as JSON; exit 0 when it succeeded, 1 when the server
refused (its code and message on stderr), 2 when it could not be asked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, TextIO

TOKEN_ENV = "TRADEPIT_ADMIN_TOKEN"
TIMEOUT_SECONDS = 30.0

#: action -> (the path under /admin/ given its argument, the arguments it takes)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "halt": ("trading/halt", ()),
    "resume": ("trading/resume", ()),
    "end": ("competition/end", ()),
    "enable": ("teams/{}/enable", ()),
    "disable": ("teams/{}/disable", ()),
    "phase": ("phase/{}", ("closed", "pre_open", "opening_auction", "continuous")),
    "session": ("session/{}", ("start", "stop")),
    "registration": ("registration/{}", ("open", "close")),
    "house": ("house/{}", ("on", "off")),
}
HELP = """actions:
  halt | resume            halt trading (orders and quotes refused, cancels allowed) / resume
  end                      the closing bell: close, stop the clock, freeze the standings
  enable TEAM | disable TEAM
  phase closed|pre_open|opening_auction|continuous
  session start|stop       start or stop the clock
  registration open|close
  house on|off
  status                   GET /health: phase, clock, registration, trading, ended, next phase
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = HELP + f"\nThe token is read from {TOKEN_ENV}."
    parser.add_argument("action", choices=[*ACTIONS, "status"])
    parser.add_argument("arg", nargs="?", help="TEAM, the phase, start|stop, open|close, on|off")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="a gateway's URL")


def path_of(action: str, arg: str | None) -> str:
    """The admin path of ``action``; ``ValueError`` saying why when ``arg`` does not fit."""
    template, choices = ACTIONS[action]
    takes = "{}" in template
    if not takes:
        if arg is not None:
            raise ValueError(f"{action} takes no argument")
        return "/admin/" + template
    if not arg:
        raise ValueError(f"{action} needs {'TEAM' if not choices else '|'.join(choices)}")
    if choices and arg not in choices:
        raise ValueError(f"{action} takes one of {', '.join(choices)}")
    return "/admin/" + template.format(urllib.parse.quote(arg, safe=""))


def call(url: str, method: str, token: str | None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, the envelope) of one request."""
    headers = {"X-Admin-Token": token} if token is not None else {}
    request = urllib.request.Request(
        url, method=method, headers=headers, data=b"" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:  # a refusal still carries the envelope
        return exc.code, json.loads(exc.read() or b"{}")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    base = args.url.rstrip("/")
    token = os.environ.get(TOKEN_ENV) or None
    try:
        if args.action == "status":
            method, path = "GET", "/health"
        else:
            method, path = "POST", path_of(args.action, args.arg)
            if token is None:
                raise ValueError(f"set {TOKEN_ENV} to the session's admin token")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        status, body = call(base + path, method, token)
    except (OSError, ValueError) as exc:  # unreachable, or not our server's answer
        print(f"error: {method} {base}{path}: {exc}", file=sys.stderr)
        return 2
    if not body.get("success"):
        error = body.get("error") or {}
        print(
            f"{method} {path}: {status} {error.get('code')}: {error.get('message')}",
            file=sys.stderr,
        )
        return 1
    out.write(json.dumps(body.get("data"), indent=1) + "\n")
    return 0
