"""The OpenAPI 3.1 document of the REST API, built from a table and the body structs."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from gateway.errors import CODES
from gateway.web import shapes
from gateway.web.validate import DoneBody, OrderBody, QuoteBody, RegisterBody

# (method, path, summary, needs a key, request body struct or None, ``data`` struct or None)
# None as ``data`` means the answer is not the envelope (``/metrics`` is Prometheus text).
ENDPOINTS: tuple[tuple[str, str, str, bool, str | None, str | None], ...] = (
    ("post", "/game/teams/register", "Register a team; the API key is shown once", False,
     "RegisterBody", "Registered"),
    ("post", "/auth/register", "The same as POST /game/teams/register (older docs' name)", False,
     "RegisterBody", "Registered"),
    ("get", "/game/teams", "The roster: registered teams in registration order, paged by "
     "?offset=N&limit=M (at most 500)", False, None, "Roster"),
    ("get", "/game/teams/{team_id}", "A team's public profile", False, None, "TeamInfo"),
    ("post", "/orders", "Submit a limit or market order (order_type inferred from price); "
     "answered once durable, with the engine's decision and immediate fills", True,
     "OrderBody", "OrderResult"),
    ("post", "/quotes", "Market makers: a two-sided quote replacing the previous one", True,
     "QuoteBody", "QuoteResult"),
    ("get", "/orders", "Open orders, oldest first (?instrument_id=)", True, None, "OpenOrders"),
    ("delete", "/orders", "Cancel all open orders (?instrument_id=)", True, None,
     "CancelledOrders"),
    ("delete", "/orders/{order_id}", "Cancel one order", True, None, "CancelledOrder"),
    ("get", "/positions", "Positions, cash, fees and P&L", True, None, "Positions"),
    ("get", "/positions/{team_id}", "The same for one's own team id (403 for another)", True,
     None, "Positions"),
    ("get", "/orderbook/{instrument_id}", "Top 5 aggregated levels per side", False, None,
     "OrderBook"),
    ("get", "/instruments", "Tradable instruments, the options' expiry and long-form aliases",
     False, None, "Instruments"),
    ("get", "/leaderboard", "Standings per role: rank, score, P&L, penalties, bonuses and "
     "each role's KPIs, as of data.seq and data.tick_number (a key is needed when "
     "[scoring] public_leaderboard = false)", False, None, None),
    ("get", "/teams/{team_id}/score", "One's own team's score and KPIs with the per-tick "
     "series (P&L, score, position, delta, coverage); 403 for another team", True, None, None),
    ("get", "/refusals", "One's own team's last 50 refused commands, oldest first: seq, "
     "tick_number, code, message, command, instrument_id, order_id, client_order_id", True,
     None, None),
    ("get", "/events", "The team's stream messages after ?after_seq=N, at most ?limit=M "
     "(capped); 410 SNAPSHOT_REQUIRED when older than kept", True, None, "EventsPage"),
    ("post", "/lockstep/done", "A lockstep session: this bot is done with tick_number (the "
     "next tick starts once every bot under test is, or its budget ran out)", True,
     "DoneBody", "LockstepDone"),
    ("get", "/health", "Liveness, projected seq and lag, and the day: phase, clock, "
     "registration, trading halted or not, the closing bell, the next phase", False, None,
     "Health"),
    ("get", "/metrics", "Prometheus metrics (text, not the envelope)", False, None, None),
    ("get", "/openapi.json", "This document (not the envelope)", False, None, None),
)  # fmt: skip

INSTRUMENT_IDS = (
    "Instrument ids are canonical (SPX_4500_CALL). On input (order and quote bodies, "
    "?instrument_id=, /orderbook/{instrument_id}) the reference docs' long form "
    "SPX_CALL_4500_YYYYMMDD is accepted when the date is the session's expiry "
    "(GET /instruments); answers always carry the canonical id."
)

#: The codes the document enumerates: as before the codes became one table, those with a
#: status of their own plus INVALID_REQUEST. The other 422 codes (INVALID_PRICE, ...) are
#: sent too but left out, so the document stays as it was; adding them is its own change.
ENUMERATED_CODES = sorted(
    {code for code, row in CODES.items() if row.status != 422} | {"INVALID_REQUEST"}
)

ENVELOPE = {
    "type": "object",
    "required": ["success", "request_id", "order_id", "data", "error", "timestamp"],
    "properties": {
        "success": {"type": "boolean"},
        "request_id": {"type": ["string", "null"]},
        "order_id": {"type": ["string", "null"]},
        "data": {},
        "error": {
            "type": ["object", "null"],
            "properties": {
                "code": {"type": "string", "enum": ENUMERATED_CODES},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        },
        "timestamp": {"type": "string", "format": "date-time"},
    },
}


@cache
def document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [OrderBody, QuoteBody, RegisterBody, DoneBody, *shapes.SHAPES],
        ref_template="#/components/schemas/{name}",
    )
    components["Envelope"] = ENVELOPE
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, keyed, body, data in ENDPOINTS:
        for prefix in ("", "/exchange"):
            if data is None:
                ok = {"description": "success", "content": {"text/plain": {}}}
            else:
                ok = {"description": "success", "content": _answer(data)}
            op: dict[str, Any] = {
                "summary": summary,
                "responses": {
                    "200": ok,
                    "4XX": {"description": "refused: see error.code", "content": _json("Envelope")},
                },
            }
            if keyed:
                op["security"] = [{"ApiKey": []}]
            if body:
                op["requestBody"] = {"required": True, "content": _json(body)}
            params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
            if params:
                op["parameters"] = [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                    for p in params
                ]
            paths.setdefault(prefix + path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tradepit exchange API",
            "version": "1",
            "description": "REST and ws://HOST/ws?api_key=KEY[&last_seq=N][&heartbeat=1]. "
            "heartbeat=1 adds a seq-less {type: heartbeat, data: {last_seq}} message every "
            "[gateway] heartbeat_seconds. WebSocket close codes: 1008 bad key, last_seq "
            "or heartbeat, 4008 slow consumer (resume with last_seq), "
            "4010 snapshot required (reconnect without last_seq), 4029 too many connections. "
            "The envelope's success and error.code are the contract; the HTTP status "
            "mirrors them. " + INSTRUMENT_IDS + " "
            "Once per tick each team's stream carries a score_update with its own figures "
            "(those of GET /teams/{team_id}/score without the series).",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }


def _answer(data: str) -> dict[str, Any]:
    """The envelope whose ``data`` is the struct ``data``."""
    schema = {
        "allOf": [
            {"$ref": "#/components/schemas/Envelope"},
            {"properties": {"data": {"$ref": f"#/components/schemas/{data}"}}},
        ]
    }
    return {"application/json": {"schema": schema}}


def data_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    """The schema of ``data`` in a success answer of ``method path``; None if not enveloped."""
    content = document["paths"][path][method]["responses"]["200"]["content"]
    if "application/json" not in content:
        return None
    ref = content["application/json"]["schema"]["allOf"][1]["properties"]["data"]["$ref"]
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
