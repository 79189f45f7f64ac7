"""Registration an organiser can trust (issue 38, item 7), against a real ``serve``.

One client took all 500 ``max_teams`` slots in 0.65 s, and names like ``TEAM_0001`` and
homoglyphs of other teams' names were accepted. Now a client address gets
``[gateway] registrations_per_minute`` (in a burst of as many), then 429 with
``Retry-After``; a name that reads as a team id is 422 ``INVALID_TEAM_NAME`` and one
whose confusable skeleton is another team's 409 ``TEAM_NAME_TAKEN``, both decided by
the core and in the log as a rejection.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from tests.e2e.server import FAST_CONFIG, running_server

CONFIG = FAST_CONFIG + "[gateway]\nregistrations_per_minute = 4\n"


def test_one_client_is_rate_limited_and_imitating_names_are_refused(tmp_path: Path) -> None:
    with running_server(tmp_path, config=CONFIG) as server:
        url = f"{server.url}/game/teams/register"

        def register(name: str) -> httpx.Response:
            return httpx.post(url, json={"team_name": name, "role": "retail"}, timeout=30)

        first = register("Alpha Team")
        assert first.status_code == 200, first.text
        team_id = first.json()["data"]["team_id"]
        looks_like_id = register("TEAM_0002")
        assert looks_like_id.status_code == 422
        assert looks_like_id.json()["error"]["code"] == "INVALID_TEAM_NAME"
        homoglyph = register("Аlphа-Team")  # Cyrillic А and а
        assert homoglyph.status_code == 409
        error = homoglyph.json()["error"]
        assert (error["code"], error["details"]["team_id"]) == ("TEAM_NAME_TAKEN", team_id)
        assert register("Gamma Team").status_code == 200  # the fourth: the last allowed
        # the fifth registration inside the minute from this address
        limited = register("Beta Team")
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert float(limited.headers["Retry-After"]) > 0
        teams = httpx.get(f"{server.url}/leaderboard", timeout=30).json()["data"]
        names = [t["team_name"] for role in teams["roles"].values() for t in role]
        assert sorted(names) == ["Alpha Team", "Gamma Team"]


INVITE_CONFIG = FAST_CONFIG + '[teams]\nregistration = "invite"\n[admin]\ntoken = "organiser"\n'


def test_invite_mode_codes_from_the_admin_call_work_once_and_are_logged_hashed(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path, config=INVITE_CONFIG) as server:
        url = f"{server.url}/game/teams/register"

        def register(name: str, invite: str | None = None) -> httpx.Response:
            body = {"team_name": name, "role": "retail"}
            if invite is not None:
                body["invite_code"] = invite
            return httpx.post(url, json=body, timeout=30)

        assert register("walk-in").json()["error"]["code"] == "INVALID_INVITE"
        made = httpx.post(f"{server.url}/admin/invites", json={"count": 2}, timeout=30,
                          headers={"X-Admin-Token": "organiser"})  # fmt: skip
        assert made.status_code == 200, made.text
        codes = made.json()["data"]["codes"]
        assert len(set(codes)) == 2
        student = httpx.post(f"{server.url}/admin/invites", timeout=30,
                             headers={"X-API-Key": "not-an-admin"})  # fmt: skip
        assert student.status_code == 401
        assert register("invited", codes[0]).status_code == 200
        reused = register("invited twice", codes[0])
        assert (reused.status_code, reused.json()["error"]["code"]) == (403, "INVALID_INVITE")
        assert register("invited too", codes[1]).status_code == 200
        # the log holds the codes' hashes, never a code
        log_bytes = b"".join(p.read_bytes() for p in server.session_dir().rglob("*") if p.is_file())
        for invite in codes:
            assert invite.encode() not in log_bytes
            assert hashlib.sha256(invite.encode()).hexdigest().encode() in log_bytes
