"""Reading the Markdown pages as the doc tests need them: code blocks, table rows, links, GitHub's heading anchors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

FENCE = re.compile(r"^( *)```(.*)$")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`[^`]*`")


def pages() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def name(page: Path) -> str:
    return str(page.relative_to(ROOT))


@dataclass(frozen=True)
class Block:
    """A fenced code block: its info string split in words, its text (unindented) and its first line number."""

    page: Path
    info: tuple[str, ...]
    text: str
    line: int

    @property
    def where(self) -> str:
        return f"{name(self.page)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced code block of `page`, including those indented inside list items."""
    found, lines = [], page.read_text().splitlines()
    at = 0
    while at < len(lines):
        opening = FENCE.match(lines[at])
        if not opening:
            at += 1
            continue
        indent, info = len(opening.group(1)), tuple(opening.group(2).split())
        body, at = [], at + 1
        while at < len(lines) and lines[at].strip() != "```":
            line = lines[at]
            body.append(line[indent:] if line.startswith(" " * indent) else line.lstrip())
            at += 1
        found.append(Block(page, info, "\n".join(body) + "\n", at - len(body) + 1))
        at += 1
    return found


def prose(page: Path) -> list[tuple[int, str]]:
    """The lines of `page` outside code blocks, numbered from 1."""
    inside, out = False, []
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if FENCE.match(line):
            if not inside:
                inside = True
                continue
            if line.strip() == "```":
                inside = False
                continue
        if not inside:
            out.append((number, line))
    return out


def links(page: Path) -> list[tuple[int, str]]:
    """The targets of the page's Markdown links and images (not those quoted in code)."""
    return [(number, target) for number, line in prose(page) for target in LINK.findall(INLINE_CODE.sub("", line))]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of every heading of `page`, with GitHub's -1, -2 suffixes for repeated ones."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose(page):
        heading = re.match(r"^#{1,6} +(.*?) *#*$", line)
        if not heading:
            continue
        base = slug(heading.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def section(page: Path, heading: str) -> str:
    """The text under the heading `heading` (exactly as written after the #s) up to the next heading of its level."""
    lines = page.read_text().splitlines()
    for at, line in enumerate(lines):
        match = re.match(r"^(#{1,6}) +(.*)$", line)
        if match and match.group(2).strip() == heading:
            level, body = len(match.group(1)), []
            for rest in lines[at + 1 :]:
                other = re.match(r"^(#{1,6}) ", rest)
                if other and len(other.group(1)) <= level:
                    break
                body.append(rest)
            return "\n".join(body)
    raise AssertionError(f"{name(page)} has no heading {heading!r}")


def table_rows(text: str) -> list[list[str]]:
    """The cells of every table row in `text`, each table's header row left out."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        if re.fullmatch(r"\|[\s:|-]+\|", line):
            rows.pop()  # the row above a separator is the header
            continue
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def quoted(cell: str) -> list[str]:
    """The names quoted in backticks in a table cell."""
    return re.findall(r"`([^`]+)`", cell)
