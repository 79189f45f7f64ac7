"""The pure core compiled with mypyc, and the rule for when it is used.

The same source runs compiled or as plain Python; compiled, ``apply`` is faster (the
ratio is in BENCHMARKS.md). The compiled modules live in ``.build/native/``, never beside
the sources, where a stale one would shadow an edited ``.py``. ``engine/core/__init__.py``
puts them first on the core package's path only when the manifest written by the last build
names exactly the sources (by hash), Python and mypy of now. An edit since the build,
a machine without a C compiler, or ``TRADEPIT_PURE=1`` all run plain Python.

``./scripts/serve`` and ``./scripts/test`` build when the sources changed
(``tradepit native build``); ``tradepit native status`` says which form a process
would use and why.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

GROUP = "tradepit_native"  # mypyc's shared library is ``tradepit_native__mypyc``
CORE = Path(__file__).resolve().parent / "core"
ROOT = CORE.parent.parent
BUILD = ROOT / ".build" / "native"
MANIFEST = BUILD / "manifest.json"


def modules() -> list[str]:
    """The core is exactly the modules of ``engine/core/``: all of them are compiled.

    Records stay Python: msgspec defines them, outside the core.
    """
    return sorted(p.stem for p in CORE.glob("*.py") if p.stem != "__init__")


def wanted() -> dict[str, object]:
    """What a usable build must have been made from: these sources, this interpreter."""
    mypy_version: str | None
    try:
        from mypy.version import __version__ as mypy_version
    except ImportError:
        mypy_version = None
    return {
        "python": sys.version,
        "mypy": mypy_version,
        "sources": {
            name: hashlib.sha256((CORE / f"{name}.py").read_bytes()).hexdigest()
            for name in modules()
        },
    }


def why_not() -> str | None:
    """``None`` when the compiled core can be used, else the reason it cannot."""
    if os.environ.get("TRADEPIT_PURE"):
        return "TRADEPIT_PURE is set"
    try:
        built = json.loads(MANIFEST.read_bytes())
    except (OSError, ValueError):
        return f"not built ({MANIFEST} is missing)"
    if built != wanted():
        return "the sources, Python or mypy changed since the last build"
    return None


def activate(package_path: list[str]) -> bool:
    """Put the compiled modules first on ``engine.core.__path__`` if they are current."""
    if why_not() is not None:
        return False
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    shared = BUILD / f"{GROUP}__mypyc{suffix}"
    spec = importlib.util.spec_from_file_location(f"{GROUP}__mypyc", shared)
    if spec is None or spec.loader is None:
        return False
    # the compiled modules import their shared library by this top-level name
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    package_path.insert(0, str(BUILD / "engine" / "core"))
    return True


def build() -> int:
    """Compile the core into ``.build/native``; the manifest is written last."""
    from mypyc.build import mypycify
    from setuptools import setup  # type: ignore[import-untyped]

    sources = [str(CORE / f"{name}.py") for name in modules()]
    want = wanted()
    with tempfile.TemporaryDirectory(prefix="tradepit-native-") as work:
        cwd = os.getcwd()
        os.chdir(ROOT)  # mypyc names modules from paths relative to here
        try:
            extensions = mypycify(
                [os.path.relpath(s) for s in sources],
                group_name=GROUP,
                target_dir=os.path.join(work, "c"),
            )
            os.chdir(work)  # away from our pyproject.toml, which setup() would read
            setup(
                name=GROUP,
                ext_modules=extensions,
                script_args=[
                    "-q",
                    "build_ext",
                    "--build-lib",
                    os.path.join(work, "lib"),
                    "--build-temp",
                    os.path.join(work, "tmp"),
                ],
            )
        finally:
            os.chdir(cwd)
        shutil.rmtree(BUILD, ignore_errors=True)
        shutil.copytree(os.path.join(work, "lib"), BUILD)
    MANIFEST.write_text(json.dumps(want, indent=1, sort_keys=True))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("build", "status"), help="build if stale, or report")


def run(args: argparse.Namespace) -> int:
    reason = why_not()
    if args.action == "status":
        print("compiled (mypyc)" if reason is None else f"plain Python: {reason}")
        return 0
    if reason is None:
        return 0
    print(f"tradepit: compiling the core with mypyc ({reason})", file=sys.stderr)
    return build()
