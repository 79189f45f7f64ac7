"""``/health``'s forecast of the next phase, and ``tradepit admin`` against a gateway."""

from __future__ import annotations

import argparse
import datetime
import io
import zoneinfo
from collections.abc import AsyncIterator

import pytest
import trio

from engine import config as configmod
from gateway.offline import admin
from gateway.projection.fold import Projection
from gateway.service import day
from tests.gateway.conftest import Server, start

NANOS = 1_000_000_000
SCHEDULE = configmod.load(
    None, schedule={"tick_seconds": 2.0, "pre_open_ticks": 1, "auction_ticks": 1,
                    "continuous_ticks": 3}
).schedule  # fmt: skip


@pytest.mark.parametrize(
    ("tick", "phase", "expected"),
    [
        (0, "closed", ("pre_open", 1)),
        (1, "pre_open", ("opening_auction", 1)),
        (2, "opening_auction", ("continuous", 1)),
        (3, "continuous", ("closed", 3)),  # after the last continuous tick (5)
        (1, "continuous", ("opening_auction", 1)),  # an override stands until a boundary
        (3, "closed", None),  # closed by an organiser: nothing reopens it after tick 5
        (5, "closed", None),
        (9, "continuous", ("closed", 1)),  # past the timetable: closed at the next tick
    ],
)
def test_the_next_phase_follows_the_clocks_plan(
    tick: int, phase: str, expected: tuple[str, int] | None
) -> None:
    assert day.upcoming(SCHEDULE, tick, phase) == expected


def projection(config: configmod.Config, tick: int, phase: str, clock_ts: int) -> Projection:
    p = Projection(config)
    p.tick_number, p.phase, p.clock_ts = tick, phase, clock_ts
    return p


def test_the_next_phase_is_timed_from_the_last_tick() -> None:
    config = configmod.load(None, schedule={"tick_seconds": 2.0, "pre_open_ticks": 1,
                                            "auction_ticks": 1, "continuous_ticks": 3})  # fmt: skip
    t0 = 1_795_000_000 * NANOS
    p = projection(config, 3, "continuous", t0)
    assert day.next_phase(p) == {"phase": "closed", "at": "2026-11-18T11:06:46.000000Z"}
    p.clock_running = False
    assert day.next_phase(p) is None  # a stopped clock changes nothing
    p.clock_running, p.final_seq = True, 42
    assert day.next_phase(p) is None  # nor after the bell


def test_the_competition_day_closes_at_its_close_time_at_the_latest() -> None:
    config = configmod.load(None, schedule={"profile": "competition"})
    zone = zoneinfo.ZoneInfo(config.schedule.timezone)
    late = datetime.datetime(2026, 11, 18, 14, 50, tzinfo=zone)  # 10 minutes before 15:00
    p = projection(config, 3, "continuous", int(late.timestamp()) * NANOS)
    forecast = day.next_phase(p)
    assert forecast is not None
    close = datetime.datetime(2026, 11, 18, 15, 0, tzinfo=zone).astimezone(datetime.UTC)
    assert forecast == {"phase": "closed", "at": close.strftime("%Y-%m-%dT%H:%M:%S.000000Z")}


TOKEN = "cli-test-admin-token"


@pytest.fixture
async def server(nursery: trio.Nursery) -> AsyncIterator[Server]:
    with trio.fail_after(30):
        async for s in start(nursery, configmod.load(None, admin={"token": TOKEN})):
            yield s


async def cli(server: Server, *argv: str) -> tuple[int, str]:
    """``tradepit admin ARGV --url`` this gateway (in a thread: the CLI blocks)."""
    out = io.StringIO()
    action, *rest = argv
    args = argparse.Namespace(action=action, arg=rest[0] if rest else None, url=server_url(server))
    code = await trio.to_thread.run_sync(admin.run, args, out)
    return code, out.getvalue()


def server_url(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


async def test_the_admin_cli_sends_each_action(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(20):
        team = await server.register("alpha")
        assert (await cli(server, "halt"))[0] == 2  # no token in the environment
        monkeypatch.setenv(admin.TOKEN_ENV, TOKEN)
        for argv in (("halt",), ("resume",), ("registration", "close"), ("house", "off"),
                     ("session", "stop"), ("phase", "continuous"),
                     ("disable", team["team_id"]), ("enable", team["team_id"])):  # fmt: skip
            code, out = await cli(server, *argv)
            assert code == 0, (argv, out)
        assert server.gw.projection.registration_open is False
        code, out = await cli(server, "status")
        assert code == 0
        assert '"clock": "stopped"' in out
        assert (await cli(server, "enable", "TEAM_9999"))[0] == 1  # refused: TEAM_NOT_FOUND
        assert (await cli(server, "phase", "sideways"))[0] == 2  # never sent
        assert (await cli(server, "end"))[0] == 0
        assert server.gw.projection.final_seq > 0
        monkeypatch.setenv(admin.TOKEN_ENV, "wrong")
        assert (await cli(server, "resume"))[0] == 1


def test_every_admin_action_names_a_route() -> None:
    paths = {action: admin.path_of(action, choices[0] if choices else ("T" if "{}" in t else None))
             for action, (t, choices) in admin.ACTIONS.items()}  # fmt: skip
    assert paths == {
        "halt": "/admin/trading/halt",
        "resume": "/admin/trading/resume",
        "end": "/admin/competition/end",
        "enable": "/admin/teams/T/enable",
        "disable": "/admin/teams/T/disable",
        "phase": "/admin/phase/closed",
        "session": "/admin/session/start",
        "registration": "/admin/registration/open",
        "house": "/admin/house/on",
    }
    with pytest.raises(ValueError, match="takes no argument"):
        admin.path_of("halt", "now")
    with pytest.raises(ValueError, match="needs TEAM"):
        admin.path_of("enable", None)
