"""The layout's rules, checked on the sources: what each room may import.

- ``engine/core/`` is pure (ARCHITECTURE rule 1): only the modules in ``CORE_ALLOWED``.
- ``gateway/projection/`` is the pure fold: no clock, no I/O, no web.
- ``gateway/scoring/`` is the pure scorer beside it (the projection runs it).
- ``engine`` never imports ``gateway`` (the CLI's command table is the one exception:
  it names subcommands of both).
- Neither shipped package imports the benchmarks or test-only libraries.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Stdlib modules with no I/O, clock or global randomness, plus our own vocabulary.
PURE_STDLIB = {
    "__future__",
    "bisect",
    "collections",
    "collections.abc",
    "dataclasses",
    "functools",
    "hashlib",
    "heapq",
    "itertools",
    "math",
    "re",
    "typing",
    # team names' NFKC (engine/core/names.py): its tables are the Python's Unicode
    # version, pinned with the Python like the rest of the core
    "unicodedata",
}
VOCABULARY = {
    "msgspec", "engine.records", "engine.config", "engine.instruments", "engine.money",
    "engine.order_types", "engine.vocabulary", "engine.quote_width",
}  # fmt: skip
CORE_ALLOWED = PURE_STDLIB | VOCABULARY | {"engine.core", "engine.market"}
#: The scorer is a pure fold beside the projection, which runs it
SCORING_ALLOWED = PURE_STDLIB | VOCABULARY | {"array", "fractions", "gateway.scoring"}
PROJECTION_ALLOWED = PURE_STDLIB | VOCABULARY | {
    "datetime", "gateway.projection", "gateway.errors", "gateway.scoring"
}  # fmt: skip
#: Reading the wall clock through an allowed module is still reading it.
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
TEST_ONLY = {"pytest", "hypothesis", "httpx", "websockets", "aiohttp", "schemathesis"}


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module a file imports, anywhere in it (late imports included)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # "from engine import log" imports engine.log
                yield node.lineno, f"{node.module}.{alias.name}"


def allowed(module: str, allow: set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allow)


def where(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def forbidden_imports(path: Path, allow: set[str]) -> list[str]:
    found = []
    for line, module in imports(path):
        if module in ("engine", "gateway") or allowed(module, allow):  # bare: a package's name
            continue
        # "from engine.core import rules" yields engine.core and engine.core.rules: both fine;
        # "from typing import Any" yields typing.Any, which is typing's
        parent = module.rpartition(".")[0]
        if parent and allowed(parent, allow) and not allowed(parent, {"engine", "gateway"}):
            continue
        found.append(f"{where(path)}:{line}: {module}")
    return found


def clock_calls(path: Path) -> list[str]:
    return [
        f"{where(path)}:{node.lineno}: .{node.func.attr}()"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_CALLS
    ]


def modules_of(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py")


def test_the_core_is_exactly_what_mypyc_compiles() -> None:
    from engine import native

    assert native.modules() == [p.stem for p in modules_of("engine/core")]
    assert {"book", "exchange", "orders", "rules", "trading"} <= set(native.modules())


@pytest.mark.parametrize("path", modules_of("engine/core"), ids=lambda p: p.name)
def test_the_core_imports_only_pure_modules(path: Path) -> None:
    assert forbidden_imports(path, CORE_ALLOWED) == []
    assert clock_calls(path) == []


@pytest.mark.parametrize("path", modules_of("gateway/projection"), ids=lambda p: p.name)
def test_the_projection_imports_only_pure_modules(path: Path) -> None:
    assert forbidden_imports(path, PROJECTION_ALLOWED) == []
    assert clock_calls(path) == []


@pytest.mark.parametrize("path", modules_of("gateway/scoring"), ids=lambda p: p.name)
def test_the_scorer_imports_only_pure_modules(path: Path) -> None:
    assert forbidden_imports(path, SCORING_ALLOWED) == []
    assert clock_calls(path) == []


def shipped(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_engine_never_imports_gateway() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in shipped("engine")
        if path != ROOT / "engine" / "cli.py"  # the command table names both packages
        for line, module in imports(path)
        if module == "gateway" or module.startswith("gateway.")
    ]
    assert found == []


@pytest.mark.parametrize("package", ["engine", "gateway"])
def test_shipped_packages_import_no_benchmark_or_test_library(package: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in shipped(package)
        for line, module in imports(path)
        if module.split(".")[0] in TEST_ONLY | {"benchmarks", "tests"}
    ]
    assert found == []


def test_the_guards_catch_a_forbidden_import(tmp_path: Path) -> None:
    """The checks above are only worth something if they fail: show it on copies."""
    core = ROOT / "engine" / "core" / "book.py"
    bad = tmp_path / "book.py"
    assert forbidden_imports(core, CORE_ALLOWED) == []
    bad.write_text(core.read_text() + "\nimport time\nfrom gateway.web import app\n")
    problems = forbidden_imports(bad, CORE_ALLOWED)
    assert any(p.endswith(": time") for p in problems)
    assert any("gateway.web" in p for p in problems)
    bad.write_text("import datetime\nx = datetime.datetime.now()\n")
    assert clock_calls(bad) != []


#: The rings, innermost first: a module may import its own ring and the rings inside it,
#: never one further out. A module belongs to the ring of the longest prefix naming it
#: (so ``gateway.replay.serve``, a process entry, sits outside ``gateway.replay``).
RINGS: list[set[str]] = [
    # vocabulary, shared by both packages
    {"engine.records", "engine.config", "engine.instruments", "engine.money",
     "engine.order_types", "engine.wire", "engine.access", "engine.lifeline", "engine.heap",
     "engine.native", "engine.ports", "engine.vocabulary", "engine.quote_width",
     "gateway.errors"},
    {"engine.core", "engine.market"},  # the pure core and the simulated market it runs
    {"engine.log"},  # the log: files or JetStream
    {"engine.replay"},  # re-execution of a log through the core
    {"engine.shell"},  # the engine process: sequencer, schedule, group commit
    {"engine.serve"},  # `tradepit serve`: the supervisor of engine and gateways
    {"gateway.scoring"},  # the pure scorer
    {"gateway.projection"},  # the pure fold, which runs the scorer
    {"gateway.upstream"},  # record sources and command ports
    {"gateway.service"},  # the gateway object, streams, archive, budgets, metrics
    {"gateway.replay"},  # replay features: paced source, seek index, inspect, export
    {"gateway.web"},  # the HTTP and WebSocket edge
    # entries: processes and offline commands
    {"gateway.main", "gateway.replay.serve", "gateway.replay.cli", "gateway.offline",
     "engine.cli"},
]  # fmt: skip


def ring_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, ring)
    for index, ring in enumerate(RINGS):
        for prefix in ring:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), index)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def upward_imports(path: Path, module: str) -> list[str]:
    mine = ring_of(module)
    assert mine is not None, f"{module} is in no ring: add it to RINGS"
    found = []
    for line, imported in imports(path):
        theirs = ring_of(imported)
        if theirs is not None and theirs > mine:
            found.append(f"{where(path)}:{line}: {imported} (ring {theirs} > {mine})")
    return found


@pytest.mark.parametrize(
    "path",
    # every module but the two packages' own __init__, which name no ring
    [
        p
        for p in shipped("engine") + shipped("gateway")
        if p not in (ROOT / "engine" / "__init__.py", ROOT / "gateway" / "__init__.py")
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_ring_imports_one_further_out(path: Path) -> None:
    module = module_name(path)
    if module == "engine.cli":  # the command table names both packages' entries
        return
    assert upward_imports(path, module) == []


def test_the_ring_guard_catches_an_upward_import(tmp_path: Path) -> None:
    service = ROOT / "gateway" / "service" / "gateway.py"
    assert upward_imports(service, "gateway.service.gateway") == []
    bad = tmp_path / "gateway.py"
    bad.write_text(service.read_text() + "\nfrom gateway.web import validate\n")
    assert any("gateway.web" in p for p in upward_imports(bad, "gateway.service.gateway"))
