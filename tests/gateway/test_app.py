"""The REST API on a real socket: envelope, auth, read-your-writes, errors."""

from __future__ import annotations

import trio

from tests.gateway.conftest import Server


async def test_register_then_order_then_read_your_writes(server: Server) -> None:
    with trio.fail_after(10):
        team = await server.register("alpha")
        assert team["team_id"] == "TEAM_0001"
        assert team["role"] == "hedge_fund"
        key = {"X-API-Key": team["api_key"]}
        r = await server.http.post(
            "/orders",
            headers=key,
            json={"instrument_id": "SPX_4400_CALL", "side": "buy", "quantity": 3, "price": 12.5},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["success"] is True
        assert body["error"] is None
        assert body["order_id"] == body["data"]["order_id"]
        assert body["data"]["status"] == "new"
        r = await server.http.get("/orders", headers=key)
        assert [o["order_id"] for o in r.json()["data"]] == [body["order_id"]]
