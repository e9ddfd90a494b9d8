"""The docs as a reader finds them: links that lead somewhere, a map that lists every page, a short README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.pages import DOCS, README, ROOT, anchors, links, name, pages, section

# The bound for a README a newcomer reads in ten minutes: about 200 lines.
README_MAX_LINES = 220
PACKAGES = ("schemas", "scoring", "streams")


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("page", pages(), ids=name)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for number, target in links(page):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not followed offline
        path, _, anchor = target.partition("#")
        goal = (page.parent / path).resolve() if path else page
        if not goal.exists():
            broken.append(f"line {number}: {target} (no such file)")
        elif anchor and goal.suffix == ".md" and anchor not in anchors(goal):
            broken.append(f"line {number}: {target} (no heading with that anchor in {name(goal)})")
    assert broken == []


def test_the_docs_map_lists_every_page() -> None:
    linked = {(DOCS / target.partition("#")[0]).resolve() for _, target in links(DOCS / "README.md")}
    listed = {p.resolve() for p in DOCS.rglob("*") if p.suffix in (".md", ".yaml") and p != DOCS / "README.md"}
    assert sorted(name(p) for p in listed - linked) == []


def test_the_readme_stays_short() -> None:
    assert len(README.read_text().splitlines()) <= README_MAX_LINES


@pytest.mark.parametrize(
    ("page", "heading"),
    [(README, "Package map"), (DOCS / "concepts" / "architecture.md", "Modules")],
    ids=["README", "architecture"],
)
def test_the_package_maps_name_every_module(page: Path, heading: str) -> None:
    text = section(page, heading)
    missing = [str(m.relative_to(ROOT)) for m in modules() if not re.search(rf"\b{m.stem}\b", text)]
    assert missing == []
