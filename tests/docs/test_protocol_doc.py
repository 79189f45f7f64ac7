"""docs/protocol.md covers what the gateway can send: every message type with its fields,
every error code with the HTTP status it really gets, every close code, every route.

The lists come from the code (``tests/docs/extract.py``), so adding a message type, an
error code, a close code or a route without documenting it fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import log as logmod
from gateway.errors import status_for
from gateway.projection.fold import Projection
from gateway.web.ws import heartbeat_frame
from tests.docs import extract
from tests.docs.markdown import section, spans, table_rows

PROTOCOL = extract.DOCS / "protocol.md"
REPLAYS = extract.ROOT / "replays"


def protocol() -> str:
    return PROTOCOL.read_text(encoding="utf-8")


def message_section(kind: str) -> str:
    return section(protocol(), f"#### `{kind}`")


def test_the_extractor_finds_what_the_gateway_is_known_to_send() -> None:
    # a guard on the extractor itself: if a refactor hid these from it, the tests below
    # would pass vacuously
    assert {"position_snapshot", "execution_report", "heartbeat"} <= extract.message_types()
    assert {"POSITION_LIMIT_EXCEEDED", "REPLAY_READ_ONLY", "UNAUTHORIZED"} <= extract.error_codes()
    assert {1008, 4008, 4010, 4029} <= extract.close_codes()
    assert ("POST", "/orders") in extract.routes()


@pytest.mark.parametrize("kind", sorted(extract.message_types()))
def test_every_message_type_has_its_section(kind: str) -> None:
    assert message_section(kind).strip(), f"docs/protocol.md has no '#### `{kind}`' section"


@pytest.mark.parametrize(
    ("kind", "key"),
    [("event", value) for value in sorted(extract.subtypes("event_type"))]
    + [("signal", value) for value in sorted(extract.subtypes("signal_type"))],
)
def test_every_event_and_signal_type_is_documented(kind: str, key: str) -> None:
    assert key in spans(message_section(kind))


def _keys(data: dict[str, Any]) -> Iterator[str]:
    """The message's field names, and those of dicts inside its lists (``open_orders``)."""
    for key, value in data.items():
        yield key
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    yield from item


def emitted() -> dict[str, set[str]]:
    """Message type -> every field seen, folding the recorded sessions through the
    projection, plus the heartbeat (which the WebSocket handler makes)."""
    fields: dict[str, set[str]] = {}
    for log_dir in sorted(Path(REPLAYS).glob("*/log")):
        projection = Projection()
        with logmod.open_reader(log_dir) as reader:
            for record in reader.read(1):
                for _, message in projection.apply(record):
                    fields.setdefault(message.type, set()).update(_keys(message.data))
    heartbeat = json.loads(heartbeat_frame(7))
    fields.setdefault(heartbeat["type"], set()).update(heartbeat["data"])
    return fields


def test_every_field_of_every_message_is_documented() -> None:
    seen = emitted()
    # the recordings exercise every type the projection can emit, so no field escapes
    assert set(seen) == extract.message_types()
    missing = {
        kind: sorted(keys - spans(message_section(kind)))
        for kind, keys in seen.items()
        if keys - spans(message_section(kind))
    }
    assert not missing, f"fields missing from docs/protocol.md: {missing}"


def error_table() -> dict[str, str]:
    """Error code -> its HTTP status cell, from the table of docs/protocol.md."""
    table = section(protocol(), "## Error codes")
    return {
        row[0].strip("`"): row[1]
        for row in table_rows(table)
        if row[0].startswith("`") and len(row) >= 2
    }


@pytest.mark.parametrize("code", sorted(extract.error_codes()))
def test_every_error_code_is_documented_with_its_status(code: str) -> None:
    table = error_table()
    assert code in table, f"{code} is missing from the error table of docs/protocol.md"
    assert table[code].split()[0] == str(status_for(code)), (
        f"docs/protocol.md gives {code} the status {table[code]!r}; the gateway answers "
        f"{status_for(code)}"
    )


def test_the_error_table_names_no_code_the_gateway_cannot_send() -> None:
    assert set(error_table()) <= extract.error_codes()


@pytest.mark.parametrize("code", sorted(extract.close_codes()))
def test_every_close_code_is_documented(code: int) -> None:
    rows = table_rows(section(protocol(), "## The WebSocket stream"))
    assert any(row[0] == f"`{code}`" for row in rows), f"close code {code} is not in the table"


@pytest.mark.parametrize(("method", "path"), sorted(extract.routes()))
def test_every_route_is_documented(method: str, path: str) -> None:
    assert f"{method} {path}" in spans(protocol()), f"`{method} {path}` is not in protocol.md"


def test_the_contract_is_stated() -> None:
    text = protocol()
    assert "`success` and `error.code` are the contract" in text
    assert "HTTP status" in section(text, "## The envelope")
