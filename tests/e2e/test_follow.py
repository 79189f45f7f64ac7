"""``tradepit follow`` as its own process against a real ``serve``: a team's stream and
the public tape go on after the gateway is killed and restarted, with no gap and no
repeat, and each team line is exactly what ``tape.line`` makes of the message that
``GET /events`` serves with that seq. Every wait polls a condition up to a deadline."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from engine.ports import free_port
from gateway.offline.tape import line
from tests.e2e.server import ROOT, running_server
from tests.e2e.test_supervision import answers, child, kill
from tests.procs import Proc, wait_until

SEQ = re.compile(r"^\s*(\d+)\s")


def seqs(proc: Proc) -> list[int]:
    return [int(m.group(1)) for text in list(proc.lines) if (m := SEQ.match(text))]


def tape(proc: Proc) -> list[str]:
    return [text for text in list(proc.lines) if SEQ.match(text)]


def events(url: str, key: str, upto: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    while len(out) < upto:
        r = httpx.get(
            f"{url}/events",
            params={"after_seq": len(out), "limit": 2000},
            headers={"X-API-Key": key},
            timeout=30,
        )
        out.extend(r.json()["data"]["messages"])
    return out[:upto]


def test_follow_resumes_after_a_gateway_restart_with_no_gap(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        key = server.register("watched", "hedge_fund")["api_key"]
        team = Proc.tradepit(
            "follow", "--url", server.url, "--key", key, "--last-seq", "0", log=tmp_path / "t.log"
        )
        public = Proc.tradepit("follow", "--url", server.url, log=tmp_path / "p.log")
        try:
            wait_until(lambda: len(seqs(team)) >= 30 and len(seqs(public)) >= 5, 60, "lines")
            before_team, before_public = max(seqs(team)), max(seqs(public))
            kill(child(server.url, "gw-1")["pid"])
            wait_until(lambda: answers(server.url), 30, "the restarted gateway")
            team.wait_for("follow: reconnected: resuming after seq", 60)
            public.wait_for("follow: reconnected: resuming after seq", 60)
            wait_until(
                lambda: (
                    max(seqs(team)) > before_team + 30 and max(seqs(public)) > before_public + 5
                ),
                60,
                "lines after the restart",
            )
        finally:
            team.stop()
            public.stop()
        # the team's tape: every seq from 1, once, in order, each line the message's own
        got = seqs(team)
        assert got == list(range(1, len(got) + 1)), team.output()
        assert tape(team) == [line(m) for m in events(server.url, key, len(got))]
        assert "SNAPSHOT" in tape(team)[0]
        # the public tape: from its snapshot's seq on, no gap, no repeat
        got = seqs(public)
        assert got == list(range(got[0], got[0] + len(got))), public.output()
        assert "SNAPSHOT session" in tape(public)[0]
        print(f"\nteam tape {len(seqs(team))} lines, public {len(got)}, across a gateway kill")


def test_follow_says_in_one_line_that_a_key_is_unknown(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli", "follow", "--url", server.url, "--key", "nope"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "refused the key" in done.stderr
    assert "1008" in done.stderr


def test_follow_says_in_one_line_that_the_server_is_unreachable() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "follow", "--url", f"http://127.0.0.1:{free_port()}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "cannot reach" in done.stderr
