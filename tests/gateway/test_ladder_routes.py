"""The ladder's routes on a gateway in this process: ``NO_LADDER`` without one, and what
a team's name can hold (escaped on the pages, quoted in the links)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from quart_trio import QuartTrio

from gateway.main import ladder_of
from gateway.offline.ladder import roster
from gateway.offline.ladder.view import Ladder
from gateway.replay.paced import ReadOnlyEngine
from gateway.service import Gateway
from gateway.upstream.source import MemoryLog
from gateway.web import ladder
from gateway.web.rest import create_app
from tests.gateway.conftest import gateway_config
from tests.offline.ladder_dir import heat, make_ladder, team, write_heat


def app(files: Ladder | None = None) -> QuartTrio:
    log = MemoryLog([])
    return create_app(Gateway(gateway_config(), ReadOnlyEngine(), log), None, files)


EXAMPLES = {"<number>": "1", "<name>": "alpha", "<file>": "alpha.out"}


@pytest.mark.parametrize("rule", ladder.PATHS)
async def test_without_a_ladder_every_route_is_no_ladder(rule: str) -> None:
    path = rule
    for param, value in EXAMPLES.items():
        path = path.replace(param, value)
    answer = await app().test_client().get(path)
    assert answer.status_code == 404
    assert (await answer.get_json())["error"]["code"] == "NO_LADDER"


async def test_health_says_whether_a_ladder_is_shown(tmp_path: Path) -> None:
    without = await (await app().test_client().get("/health")).get_json()
    with_one = await (
        await app(Ladder(make_ladder(tmp_path / "l"))).test_client().get("/health")
    ).get_json()
    assert (without["data"]["ladder"], with_one["data"]["ladder"]) == (False, True)


async def test_a_name_is_escaped_on_the_pages_and_quoted_in_links(tmp_path: Path) -> None:
    root = make_ladder(tmp_path / "ladder")
    bots = roster.load(root)
    odd = "<b>Zed #1?"  # no "/": a name is one path segment
    bots[odd] = roster.Entry(odd, "retail", "run zed", f"v-{odd}", 0.0)
    bots["plain"] = roster.Entry("plain", "retail", "run plain", "v-plain", 0.0)
    roster.save(root, bots)
    write_heat(root, heat(4, [team(odd, 1, role="retail"), team("plain", 2, role="retail")]))
    client = app(Ladder(root)).test_client()
    page = await (await client.get("/dashboard/ladder")).get_data(as_text=True)
    assert odd not in page
    assert "&lt;b&gt;Zed #1?" in page
    quoted = "%3Cb%3EZed%20%231%3F"
    assert f'href="/dashboard/ladder/{quoted}"' in page
    shown = await (await client.get(f"/ladder/teams/{quoted}")).get_json()
    assert shown["data"]["name"] == odd
    assert shown["data"]["heats"][0]["out"] == f"/ladder/heats/4/bots/{quoted}.out"
    output = await client.get(shown["data"]["heats"][0]["out"])
    assert await output.get_data() == f"{odd} in heat 4\n".encode()
    bot_page = await client.get(f"/dashboard/ladder/{quoted}")
    assert bot_page.status_code == 200
    assert odd not in await bot_page.get_data(as_text=True)


def test_a_ladder_is_a_directory_given_on_the_command_line(tmp_path: Path) -> None:
    one = make_ladder(tmp_path / "one" / "l")
    assert ladder_of(argparse.Namespace(ladder=None)) is None
    from_args = ladder_of(argparse.Namespace(ladder=one))
    assert isinstance(from_args, Ladder)
    assert from_args.root == one
    with pytest.raises(ValueError, match="is not a directory"):
        ladder_of(argparse.Namespace(ladder=tmp_path / "missing"))
