"""The README's Quick start is what CI runs: exactly two commands, the demo then the tests."""

import subprocess
from pathlib import Path

from tests.paths import ROOT


def test_ci_runs_the_two_readme_commands() -> None:
    out = subprocess.run(["bash", ".ci/quickstart-commands"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["make demo", "make test"]
    assert "quickstart-commands" in (ROOT / ".ci" / "run").read_text()


def test_the_extractor_reads_only_the_first_block_under_the_heading(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n```\nnot this\n```\n## Quick start\ntext\n```bash\none\n\ntwo\n```\n```\nthree\n```\n")
    out = subprocess.run(
        ["bash", str(ROOT / ".ci" / "quickstart-commands"), str(readme)], capture_output=True, text=True
    )
    assert out.stdout.splitlines() == ["one", "two"]
