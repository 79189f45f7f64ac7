"""The bot kit's public API, read from the package itself: every public class, method and
function of its modules with the first sentence of its docstring. docs/bots.md's table
(``<!-- generated: bot_kit -->``) is rendered from it, so the table cannot drift from
the code, and a public name without a docstring fails the docs tests."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator

#: The kit's modules, in the order a bot author meets them.
MODULES = [
    "tradepit.client",
    "tradepit.stream",
    "tradepit.applied",
    "tradepit.state",
    "tradepit.bot",
    "tradepit.errors",
    "tradepit.messages",
    "tradepit.models",
    "tradepit.bs",
    "tradepit.ratelimit",
    "tradepit.wsorders",
]
#: msgspec and dataclasses give every struct these; they are not the kit's to document.
INHERITED = {"apply_defaults"}


def _first_sentence(doc: str | None) -> str:
    text = " ".join((doc or "").split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def _own(module: object, name: str, value: object) -> bool:
    return not name.startswith("_") and getattr(value, "__module__", None) == getattr(
        module, "__name__", None
    )


def public_api() -> Iterator[tuple[str, str, str | None]]:
    """``(module, qualified name, docstring)`` of each public class, method and function."""
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if not _own(module, name, value):
                continue
            if inspect.isclass(value):
                yield module_name, name, value.__doc__
                for attr, member in vars(value).items():
                    if attr.startswith("_") or attr in INHERITED:
                        continue
                    if inspect.isfunction(member) or isinstance(member, property):
                        yield module_name, f"{name}.{attr}", member.__doc__
            elif inspect.isfunction(value):
                yield module_name, name, value.__doc__


def undocumented() -> list[str]:
    """Public names with no docstring of their own (a dataclass's made-up ``Name(...)``
    signature is not one)."""
    return [
        f"{module}.{name}"
        for module, name, doc in public_api()
        if not (doc or "").strip() or (doc or "").startswith(f"{name}(")
    ]


def render_bot_kit() -> str:
    missing = undocumented()
    assert not missing, f"public names of the bot kit without a docstring: {missing}"
    lines = ["| module | name | what it is |", "|---|---|---|"]
    for module, name, doc in public_api():
        text = _first_sentence(doc).replace("|", "\\|").replace("``", "`")  # rST to Markdown
        lines.append(f"| `{module.removeprefix('tradepit.')}` | `{name}` | {text} |")
    return "\n".join(lines) + "\n"
