"""The repository stands alone: nothing refers outside it, and what the docs name exists.

A clone from a public host has nothing beside it, so no tracked file may point at a
sibling directory, every relative Markdown link must land on a file inside the
repository, and a link to a URL may only lead to a server on this machine. Every
repository path the docs name in a code span (``engine/shell/...``,
``./scripts/serve``) must exist, and a ``path:Name`` or ``path:Class.method`` span must
name something defined in that file, so the order traced in architecture.md can be
followed hop by hop.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from tests.docs.extract import DOCS, ROOT
from tests.docs.markdown import FENCE, spans

#: A sibling checkout's shared folder, spelled so that this file does not match itself.
OUTSIDE = re.compile(r"\.\./" + "shared" + r"|parent\s*/\s*[\"']" + "shared")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
LOOPBACK = re.compile(r"https?://(localhost|127\.0\.0\.1)([:/]|$)")


def tracked() -> list[Path]:
    """The files git tracks (what a clone gets)."""
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    )
    return [ROOT / name for name in out.stdout.split("\0") if name and (ROOT / name).is_file()]


def text_files() -> list[tuple[Path, str]]:
    files = []
    for path in tracked():
        try:
            files.append((path, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue  # binary: log segments of the recorded sessions
    return files


def test_no_tracked_file_refers_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for path, text in text_files()
        for m in OUTSIDE.finditer(text)
    ]
    assert not offenders, "references outside the repository:\n" + "\n".join(offenders)


def anchors(path: Path) -> set[str]:
    """The heading anchors of a Markdown file, as GitHub makes them."""
    found = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_every_relative_link_in_markdown_lands_inside_the_repository() -> None:
    broken = []
    for path, text in text_files():
        if path.suffix != ".md":
            continue
        for target in LINK.findall(FENCE.sub("", text)):
            if re.match(r"[a-z]+:", target):
                # a URL: only to a server on this machine (the docs stand alone)
                if re.match(r"https?://", target) and not LOOPBACK.match(target):
                    broken.append(f"{path.relative_to(ROOT)}: ({target}): outside")
                continue
            name, _, anchor = target.partition("#")
            resolved = (path.parent / name).resolve() if name else path
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: ({target})")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{path.relative_to(ROOT)}: ({target}): no such heading")
    assert not broken, "links that leave the repository or lead nowhere:\n" + "\n".join(broken)


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def named_paths(text: str) -> set[str]:
    """Code spans that name a repository path (first component tracked at the top)."""
    tops = {p.relative_to(ROOT).parts[0] for p in tracked()}
    found = set()
    for span in spans(FENCE.sub("", text)):
        token = span.split()[0] if span.startswith("./") else span
        if " " in token:
            continue
        token = token.removeprefix("./")
        if token.split("/", 1)[0].split(":", 1)[0] in tops and (
            "/" in token or token.split(":", 1)[0] in tops
        ):
            found.add(token)
    return found


def defines(path: Path, symbol: str) -> bool:
    """``symbol`` (``name`` or ``Class.name``) is defined at that level of the module."""
    body: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for part in symbol.split("."):
        for node in body:
            names: list[str] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            if part in names:
                body = node.body if isinstance(node, ast.ClassDef) else []
                break
        else:
            return False
    return True


@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.name)
def test_every_path_the_docs_name_exists(doc: Path) -> None:
    missing = []
    for token in sorted(named_paths(doc.read_text(encoding="utf-8"))):
        name, _, symbol = token.partition(":")
        path = ROOT / name.rstrip("/")
        named = symbol.removesuffix("()")
        if not path.exists() or (named and (path.suffix != ".py" or not defines(path, named))):
            missing.append(token)
    assert not missing, f"{doc.relative_to(ROOT)} names what does not exist: {missing}"


def test_the_path_check_sees_paths() -> None:
    # a guard on the check itself: it must recognise the spans the docs use
    assert named_paths("`engine/config.py` and `./scripts/serve --port 8123`") == {
        "engine/config.py",
        "scripts/serve",
    }
    assert defines(ROOT / "engine" / "config.py", "Config")
    assert not defines(ROOT / "engine" / "config.py", "Config.nothing_here")


def test_the_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```", 2)[1].splitlines()[1:]
    assert [line.split()[0] for line in first_block[:2]] == ["./scripts/serve", "./scripts/test"]


def test_the_readme_links_every_doc() -> None:
    links = set(LINK.findall((ROOT / "README.md").read_text(encoding="utf-8")))
    unlinked = [p.name for p in sorted(DOCS.glob("*.md")) if f"docs/{p.name}" not in links]
    assert not unlinked, f"README.md does not link {unlinked} in its Documentation list"
