"""The scorer is pure like the projection: no I/O, clock or randomness can reach it.

Walks the imports of every module of ``gateway/scoring`` with ``ast``: only pure
standard-library modules, msgspec and the log's vocabulary (records, config,
instruments, money) are allowed, besides the package itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gateway.scoring

PACKAGE = Path(gateway.scoring.__file__).parent
ALLOWED = {
    "__future__", "array", "collections", "collections.abc", "dataclasses", "fractions",
    "math", "typing", "msgspec",
    "engine", "engine.records", "engine.config", "engine.instruments", "engine.money",
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            base = node.module or ""
            out.add(base)
            if base == "engine":  # ``from engine import config``: the module is engine.config
                out |= {f"engine.{alias.name}" for alias in node.names}
    return out


def test_the_scorer_imports_only_pure_modules() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 5
    for path in modules:
        foreign = {
            name
            for name in _imports(path)
            if name not in ALLOWED and not name.startswith("gateway.scoring")
        }
        assert not foreign, f"{path.name} imports {sorted(foreign)}"


def test_the_walk_would_catch_a_clock() -> None:
    tree = "import time\nfrom random import Random\n"
    names = {
        a.name for n in ast.walk(ast.parse(tree)) if isinstance(n, ast.Import) for a in n.names
    }
    assert "time" in names
    assert "time" not in ALLOWED
    assert "random" not in ALLOWED
