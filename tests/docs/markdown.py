"""Just enough Markdown reading for the docs tests: sections, table rows, code spans."""

from __future__ import annotations

import re

HEADING = re.compile(r"^(#{1,6}) (.*)$")
SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def section(text: str, heading: str) -> str:
    """The text under the heading line ``heading`` (e.g. ``#### `tick_start` ``), up to
    the next heading of the same or a higher level; raises ``KeyError`` if absent."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == heading:
            level = len(heading) - len(heading.lstrip("#"))
            body: list[str] = []
            for rest in lines[i + 1 :]:
                match = HEADING.match(rest)
                if match and len(match.group(1)) <= level:
                    break
                body.append(rest)
            return "\n".join(body)
    raise KeyError(heading)


def spans(text: str) -> set[str]:
    """Every inline code span's content."""
    return set(SPAN.findall(text))


def table_rows(text: str) -> list[list[str]]:
    """The cells of every table row outside code blocks (separator rows left out)."""
    rows = []
    for line in FENCE.sub("", text).splitlines():
        line = line.strip()
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows
