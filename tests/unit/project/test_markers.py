"""`pytest -m "not integration"` runs the pure tests and no test that needs the broker (tests/conftest.py)."""

import subprocess
import sys

from tests.paths import ROOT

PURE_DIRS = ("tests/unit/", "tests/docs/")
BROKER_DIRS = ("tests/integration/", "tests/e2e/")


def collected(selection: str) -> list[str]:
    """Node ids pytest would run with `-m selection`, from a separate collection of the whole suite."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", selection],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [line for line in out.splitlines() if "::" in line]


def test_not_integration_runs_every_pure_test_and_integration_every_broker_test() -> None:
    # The two selections split the suite (a test is in exactly one): each holding only its own
    # directories means every pure test runs under "not integration" and no broker test does.
    pure, broker = collected("not integration"), collected("integration")
    assert pure and broker
    assert [t for t in pure if not t.startswith(PURE_DIRS)] == []
    assert [t for t in broker if not t.startswith(BROKER_DIRS)] == []
