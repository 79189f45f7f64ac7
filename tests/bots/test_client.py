"""The bot kit's REST calls against a real ``tradepit serve``: typed answers, typed refusals,
the token bucket, and a key saved and loaded again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import websockets
from tradepit import Client, InvalidRequest, LimitExceeded, NotFound, Stream
from tradepit.messages import PositionSnapshot

from tests.e2e.server import FAST_CONFIG, running_server


async def _scenario(url: str, key_file: Path, orders: str) -> None:
    async with Client(url, orders=orders) as client:
        await client.load_or_register(key_file, "kit-hf", "hedge_fund")
        assert client.role == "hedge_fund"
        assert client.team_id is not None

        # a refusal is an exception carrying the code and the details
        with pytest.raises(InvalidRequest) as bad:
            await client.place_order("SPX_4400_CALL", "buy", 501, 1.0)
        assert bad.value.code == "INVALID_QUANTITY"
        assert bad.value.details["max_order_size"] == 500
        # a market order has no price for the band to refuse (an option's fair value, and
        # the band around it, jump with a volatility regime): the position limit refuses it
        with pytest.raises(LimitExceeded) as limit:
            await client.place_order("SPX_4400_CALL", "buy", 151, order_type="market")
        assert limit.value.details["limit"] == 150
        with pytest.raises(NotFound):
            await client.cancel("ORD_99999999")

        # twelve orders at a role rate of five a second: the bucket paces them, no 429
        # bids at 90% of SPY's fair value: inside the band, far under the house's quotes
        spy = await client.orderbook("SPY")
        assert spy.fair is not None
        bid = round(spy.fair * 0.9, 2)
        placed = [await client.place_order("SPY", "buy", 1, bid) for _ in range(12)]
        assert client.rate_limited == 0
        assert len({p.client_order_id for p in placed}) == 12
        assert all(p.status == "new" and not p.duplicate for p in placed)
        # the same client id again is the same order, not a second one
        again = await client.place_order(
            "SPY", "buy", 1, bid, client_order_id=placed[0].client_order_id
        )
        assert again.duplicate
        assert again.order_id == placed[0].order_id
        assert len(await client.orders()) == 12
        done = await client.cancel_all()
        assert done.count == 12

        board = await client.leaderboard()
        assert [r.team_name for r in board.roles["hedge_fund"]] == ["kit-hf"]
        score = await client.score()
        assert score.team_id == client.team_id
        assert score.series is not None
        page = await client.events(0, 5)
        assert [m["seq"] for m in page.messages] == list(range(1, page.count + 1))
        assert page.last_seq >= page.count
        assert client.ws_fallbacks == 0  # with orders="ws", every write went over the socket

    # a second run loads the saved key: the same team, and its stream starts from a snapshot
    async with Client(url) as again_client:
        await again_client.load_or_register(key_file, "kit-hf", "hedge_fund")
        assert again_client.team_id == client.team_id
        stream = Stream(again_client)
        async for msg, _ in stream:
            assert isinstance(msg, PositionSnapshot)
            assert msg.data.team_id == client.team_id
            break
        stream.close()


@pytest.mark.parametrize("orders", ["rest", "ws"])
def test_typed_rest_and_refusals(tmp_path: Path, orders: str) -> None:
    key_file = tmp_path / "kit-hf.key"
    with running_server(tmp_path) as server:
        server.wait_continuous()
        asyncio.run(_scenario(server.url, key_file, orders))
    assert key_file.stat().st_mode & 0o777 == 0o600  # the key is the team's password


async def _fallback(url: str) -> None:
    async with Client(url, orders="ws") as client:
        await client.register("kit-fallback", "hedge_fund")
        # the team's one WebSocket is taken: the order socket is refused (close 4029)
        assert client.api_key is not None
        async with websockets.connect(f"{client.ws_url}?api_key={client.api_key}"):
            spy = await client.orderbook("SPY")
            assert spy.fair is not None
            placed = await client.place_order("SPY", "buy", 1, round(spy.fair * 0.9, 2))
            assert placed.status == "new"
            assert client.ws_fallbacks >= 1
        assert [o.order_id for o in await client.orders()] == [placed.order_id]


def test_order_entry_falls_back_to_rest_when_the_socket_is_refused(tmp_path: Path) -> None:
    config = FAST_CONFIG + "[gateway]\nws_max_connections_per_team = 1\n"
    with running_server(tmp_path, config=config) as server:
        server.wait_continuous()
        asyncio.run(_fallback(server.url))
