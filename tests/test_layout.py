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
    "typing",
}
VOCABULARY = {
    "msgspec", "engine.records", "engine.config", "engine.instruments", "engine.money",
    "engine.order_types",
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
