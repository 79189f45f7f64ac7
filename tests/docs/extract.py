"""What the code says the docs must cover: read from the sources, never restated by hand.

Message types, error codes, close codes and routes are found by walking the syntax trees
of ``engine/`` and ``gateway/`` (so a module moving or a new one appearing changes
nothing here); the config reference is rendered from the config structs themselves, and
the vocabulary's tables (error codes, close codes, cancel reasons, phases) from the
tables that define them (``gateway/errors.py``, ``engine/vocabulary.py``).

``python -m tests.docs.extract`` prints what was found; ``--write`` regenerates the
generated blocks of ``README.md`` and ``docs/*.md`` (between ``<!-- generated: NAME -->`` and
``<!-- end generated -->``) in place.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from engine import config as configmod
from engine import vocabulary
from engine.order_types import ORDER_TYPES
from gateway import errors
from tests.docs.botkit import render_bot_kit

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CODE = re.compile(r"[A-Z][A-Z]*(?:_[A-Z]+)*")
#: Calls whose string arguments are error codes a client can receive.
ERROR_CALLS = {"ApiError", "Refusal", "Refused", "EngineUnavailable"}
#: Dicts whose string keys and values are error codes a client can receive. Not
#: ``gateway/errors.py`` CODES: that is the table the codes found here are checked against.
ERROR_TABLES = {"HTTP_CODES", "FIELD_CODES"}
#: The error codes that are a single word.
WORDS = {"UNAUTHORIZED", "FORBIDDEN"}
BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _trees(*packages: str) -> Iterator[tuple[Path, ast.Module]]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def message_types() -> set[str]:
    """Every ``type`` of a stream message: the first argument of ``StreamMessage(...)`` or
    ``encode_body(...)`` anywhere in the gateway."""
    found: set[str] = set()
    for _, tree in _trees("gateway"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in ("StreamMessage", "encode_body"):
                value = _str(node.args[0]) if node.args else None
                if value is not None:
                    found.add(value)
    return found


def subtypes(key: str) -> set[str]:
    """Values given to ``key`` (``event_type``, ``signal_type``) in dict literals."""
    found: set[str] = set()
    for _, tree in _trees("gateway"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values, strict=True):
                    value = _str(v)
                    if k is not None and _str(k) == key and value is not None:
                        found.add(value)
    return found


def error_codes() -> set[str]:
    """Every error code the engine or a gateway can put in ``error.code``."""
    found: set[str] = set()

    def add(node: ast.expr | None) -> None:
        value = _str(node)
        # one-word codes exist too, but a one-word literal is more often something else
        if value is not None and CODE.fullmatch(value) and ("_" in value or value in WORDS):
            found.add(value)

    for _, tree in _trees("engine", "gateway"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in ERROR_CALLS:
                for arg in node.args:
                    add(arg)
                for kw in node.keywords:
                    if kw.arg == "code":
                        add(kw.value)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {_name(t) for t in targets}
                if names & ERROR_TABLES and isinstance(node.value, ast.Dict):
                    for k, v in zip(node.value.keys, node.value.values, strict=True):
                        add(k)
                        add(v)
                elif "code" in names:
                    add(node.value)
    return found


def close_codes() -> set[int]:
    """WebSocket close codes: the gateway's ``WS_*`` constants and literal close frames."""
    found: set[int] = set()
    for _, tree in _trees("gateway"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                value = node.value.value
                if isinstance(value, int) and any(
                    (_name(t) or "").startswith("WS_") for t in node.targets
                ):
                    found.add(value)
            elif isinstance(node, ast.Dict):
                pairs = {_str(k): v for k, v in zip(node.keys, node.values, strict=True) if k}
                code = pairs.get("code")
                if (
                    _str(pairs.get("type")) == "websocket.close"
                    and isinstance(code, ast.Constant)
                    and isinstance(code.value, int)
                ):
                    found.add(code.value)
    return found


def routes() -> set[tuple[str, str]]:
    """(METHOD, /path) of every HTTP route, paths as ``{param}``, bare (no ``/exchange``)."""
    found: set[tuple[str, str]] = set()
    for _, tree in _trees("gateway"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _name(node.func) != "route" or not node.args:
                continue
            path = _str(node.args[0])
            methods: ast.expr | None = node.args[1] if len(node.args) > 1 else None
            for kw in node.keywords:
                if kw.arg == "methods":
                    methods = kw.value
            if path is None or not isinstance(methods, ast.List):
                continue
            for method in methods.elts:
                name = _str(method)
                if name is not None:
                    found.add((name.upper(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)))
    from gateway.web import fastpath  # POST /orders is answered in front of Quart

    found |= {("POST", path) for path in fastpath.PATHS if not path.startswith("/exchange/")}
    return found


# --------------------------------------------------------------------------- config


def _toml(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def config_rows() -> list[tuple[str, str]]:
    """(`[section] key`, default) of every config key except the roles (a table of its own)."""
    defaults = msgspec.to_builtins(configmod.Config())
    rows: list[tuple[str, str]] = []
    for section in msgspec.structs.fields(configmod.Config):
        if section.name == "roles":
            continue
        for key, value in defaults[section.name].items():
            if (section.name, key) in configmod.RETIRED:  # a config file may not set it
                continue
            if section.name == "news" and key == "headlines":
                shown = f"{len(value)} headlines (the table in rules.md)"
            else:
                shown = _toml(value)
            rows.append((f"[{section.name}] {key}", shown))
    return rows


def render_config() -> str:
    lines = ["| key | default |", "|---|---|"]
    lines += [f"| `{key}` | `{value}` |" for key, value in config_rows()]
    return "\n".join(lines) + "\n"


def render_roles() -> str:
    roles = msgspec.to_builtins(configmod.Config().roles)
    names = list(roles)
    lines = [
        "| `[roles.NAME]` key | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for key in msgspec.structs.fields(configmod.RoleRules):
        cells = []
        for n in names:
            value = roles[n].get(key.name)
            cells.append(f"`{_toml(value)}`" if key.name in roles[n] else "`unset`")
        lines.append(f"| `{key.name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- vocabulary


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for row in rows:
        assert not any("|" in cell for cell in row), f"a table cell holds a '|': {row}"
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def render_errors() -> str:
    rows = [[f"`{code}`", str(row.status), row.when] for code, row in errors.CODES.items()]
    return _table(["code", "HTTP status", "when"], rows)


def render_statuses() -> str:
    """The error codes by HTTP status, in short (the README's table)."""
    by_status: dict[int, list[str]] = {}
    for code, row in errors.CODES.items():
        by_status.setdefault(row.status, []).append(f"`{code}`")
    rows = [[str(status), ", ".join(codes)] for status, codes in sorted(by_status.items())]
    return _table(["status", "codes"], rows)


def render_close_codes() -> str:
    rows = [[f"`{code}`", row.meaning, row.todo] for code, row in errors.CLOSE_CODES.items()]
    return _table(["code", "meaning", "what to do"], rows)


def render_cancel_reasons() -> str:
    rows = [[f"`{reason}`", why] for reason, why in vocabulary.CANCEL_REASONS.items()]
    return _table(["`reason`", "why"], rows)


def render_phases() -> str:
    # outside continuous trading the order types marked continuous_only are refused
    anywhere = [name for name, spec in ORDER_TYPES.items() if not spec.continuous_only]
    refused = [name for name in ORDER_TYPES if name not in anywhere]
    rows = []
    for phase, rules in vocabulary.PHASES.items():
        orders = "no (`MARKET_CLOSED`)"
        if rules.takes_orders:
            orders = "yes"
            if phase != "continuous" and refused:
                orders += (
                    f" ({', '.join(anywhere)} orders and quotes; "
                    f"{', '.join(refused)} orders are refused)"
                )
        rows.append([f"`{phase}`", orders, rules.matching])
    return _table(["phase", "submit and cancel", "matching"], rows)


#: Block name -> what renders it. A doc holds a block as
#: ``<!-- generated: NAME -->`` ... ``<!-- end generated -->``.
GENERATED = {
    "bot_kit": render_bot_kit,
    "config": render_config,
    "roles": render_roles,
    "errors": render_errors,
    "statuses": render_statuses,
    "close_codes": render_close_codes,
    "cancel_reasons": render_cancel_reasons,
    "phases": render_phases,
}


def regenerate(text: str) -> str:
    def fill(match: re.Match[str]) -> str:
        render = GENERATED[match.group(2)]
        return match.group(1) + render() + match.group(4)

    return BLOCK.sub(fill, text)


def generated_blocks(text: str) -> dict[str, str]:
    return {m.group(2): m.group(3) for m in BLOCK.finditer(text)}


def documents() -> list[Path]:
    """The files that may hold generated blocks: the README and docs/*.md."""
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        for path in documents():
            text = path.read_text(encoding="utf-8")
            new = regenerate(text)
            if new != text:
                path.write_text(new, encoding="utf-8")
                print(f"rewrote {path.relative_to(ROOT)}")
        return 0
    print("message types:", ", ".join(sorted(message_types())))
    print("event types:", ", ".join(sorted(subtypes("event_type"))))
    print("signal types:", ", ".join(sorted(subtypes("signal_type"))))
    print("error codes:", ", ".join(sorted(error_codes())))
    print("close codes:", ", ".join(map(str, sorted(close_codes()))))
    print("routes:", ", ".join(f"{m} {p}" for m, p in sorted(routes(), key=lambda r: r[1])))
    for name, render in GENERATED.items():
        print(f"\n<!-- generated: {name} -->\n{render()}<!-- end generated -->")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
