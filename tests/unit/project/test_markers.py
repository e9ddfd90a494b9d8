"""`pytest -m "not integration"` runs the pure tests and no test that needs the broker (tests/conftest.py).

Checked without collecting the suite (which imports every test module: 6 s
a collection): the marking hook on items placed where tests live, every
test file under one of the four marked directories, and no pure test able
to ask for a broker fixture.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import BROKER_FIXTURES, TESTS, pytest_collection_modifyitems

PURE_DIRS = ("unit", "docs")
BROKER_DIRS = ("integration", "e2e")


def marks(where: str, fixtures: tuple[str, ...] = ()) -> set[str]:
    """The markers tests/conftest.py gives a test in `where` (a path under tests/) that uses `fixtures`."""
    added: set[str] = set()
    item = SimpleNamespace(path=TESTS / where, fixturenames=list(fixtures), add_marker=lambda m: added.add(m.name))
    pytest_collection_modifyitems(config=None, items=[item])  # type: ignore[arg-type, list-item]
    return added


@pytest.mark.parametrize(
    ("where", "fixtures", "expected"),
    [
        ("unit/scoring/test_model.py", (), {"unit"}),
        ("docs/test_pages.py", ("tmp_path",), {"unit"}),
        ("integration/test_erasure.py", (), {"integration"}),
        ("integration/test_erasure.py", ("deploy",), {"integration"}),
        ("e2e/test_demo.py", (), {"e2e", "integration"}),
        # A test anywhere that asks for the broker is left out of "not integration".
        ("unit/project/test_x.py", ("stack",), {"unit", "integration"}),
        ("unit/project/test_x.py", ("deploy",), {"unit", "integration"}),
    ],
)
def test_a_test_is_marked_by_where_it_lives_and_by_the_broker_fixtures_it_uses(where, fixtures, expected) -> None:
    assert marks(where, fixtures) == expected


def test_every_test_file_lives_in_a_directory_that_marks_it() -> None:
    places = {str(p.relative_to(TESTS)): p.relative_to(TESTS).parts[0] for p in TESTS.rglob("test_*.py")}
    assert [name for name, top in places.items() if top not in PURE_DIRS + BROKER_DIRS] == []


def parameters(path: Path) -> set[str]:
    """The parameter names of every function in `path`: what its tests and fixtures can ask for."""
    functions = [
        n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    return {a.arg for f in functions for a in (*f.args.posonlyargs, *f.args.args, *f.args.kwonlyargs)}


def test_no_pure_test_or_fixture_asks_for_the_broker() -> None:
    # The broker fixtures are defined for tests/integration only; a pure test or fixture naming one would
    # need it made visible to it, and would be marked integration and so left out of the pure run.
    pure = [p for d in PURE_DIRS for p in (TESTS / d).rglob("*.py")] + [TESTS / "conftest.py"]
    asking = {str(p.relative_to(TESTS)): sorted(parameters(p) & BROKER_FIXTURES) for p in pure}
    assert {name: fixtures for name, fixtures in asking.items() if fixtures} == {}
    assert [p.name for p in pure if re.search(r"^pytest_plugins\b", p.read_text(), re.MULTILINE)] == []
