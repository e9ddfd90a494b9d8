"""The one-way layering the design promises: streams -> scoring -> schemas, no I/O below streams, and inside
streams tools -> worker -> console -> api -> state, snapshot -> kafka -> settings (pyproject.toml, [tool.importlinter])."""

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.paths import ROOT


def test_import_contracts_hold() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(contracts)} kept, 0 broken" in result.stdout and len(contracts) >= 4
