"""The compiled form of the hot path: used only when built from this very source, computing what the source does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import scoring.model
from scoring import accelerator
from tests.paths import ROOT

BUILD = "run `make setup` or `.venv/bin/python scripts/build_compiled.py` (HEALTHSCORE_PURE_PYTHON=1 runs the source)"


def digest_in_a_process(**env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != accelerator.PURE_ENV}
    done = subprocess.run([sys.executable, "-m", "tests.replay_digest"], cwd=ROOT, env={**environ, **env},
                          capture_output=True, text=True, timeout=240, check=True)  # fmt: skip
    return json.loads(done.stdout)


@pytest.mark.skipif(accelerator.FORM.name != "compiled" and os.environ.get(accelerator.PURE_ENV) is not None,
                    reason="HEALTHSCORE_PURE_PYTHON is set: the source runs by request")  # fmt: skip
def test_the_compiled_form_is_what_runs_here() -> None:
    assert accelerator.FORM.name == "compiled", f"{accelerator.FORM.reason}; {BUILD}"
    assert Path(scoring.model.__file__).parent == accelerator.COMPILED
    assert scoring.model.__file__.endswith(tuple(EXTENSION_SUFFIXES))


def test_both_forms_publish_and_store_the_same_bytes_for_the_same_events() -> None:
    compiled = digest_in_a_process()
    source = digest_in_a_process(**{accelerator.PURE_ENV: "1"})
    assert (compiled["form"], source["form"]) == ("compiled", "python"), f"{compiled['reason']}; {BUILD}"
    assert compiled["counts"]["updates"] > 50_000 and compiled["counts"]["alerts"] > 5_000
    assert compiled["counts"]["timer"] > 10_000
    assert compiled == {**source, "form": "compiled", "reason": compiled["reason"]}


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A compiled folder of our own, as the build leaves it, with empty stand-ins for the extension modules."""
    folder = tmp_path / "_compiled"
    folder.mkdir()
    for module in accelerator.MODULES:
        (folder / f"{module}{EXTENSION_SUFFIXES[0]}").touch()
    (folder / "manifest.json").write_text(json.dumps(accelerator.manifest("3.x")))
    monkeypatch.setattr(accelerator, "COMPILED", folder)
    monkeypatch.setattr(accelerator, "MANIFEST", folder / "manifest.json")
    return folder


def test_a_build_of_this_source_for_this_python_is_chosen(build: Path) -> None:
    assert accelerator.choose({}).name == "compiled"


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_the_environment_can_ask_for_the_source(build: Path, value: str) -> None:
    form = accelerator.choose({accelerator.PURE_ENV: value})
    assert form == accelerator.Form("python", "HEALTHSCORE_PURE_PYTHON is set")


def test_a_module_changed_since_the_build_runs_as_source(build: Path) -> None:
    built = json.loads((build / "manifest.json").read_text())
    built["modules"]["alerts"] = "0" * 64
    (build / "manifest.json").write_text(json.dumps(built))
    form = accelerator.choose({})
    assert form.name == "python" and "scoring/alerts.py changed" in form.reason


def test_a_build_for_another_python_or_a_missing_module_runs_as_source(build: Path) -> None:
    (build / f"signals{EXTENSION_SUFFIXES[0]}").unlink()
    assert accelerator.choose({}).reason == "the compiled signals is missing; build again"
    built = json.loads((build / "manifest.json").read_text())
    (build / "manifest.json").write_text(json.dumps({**built, "python": "cpython-39"}))
    assert accelerator.choose({}).reason.startswith("compiled for cpython-39")


def test_no_build_runs_as_source(build: Path) -> None:
    (build / "manifest.json").unlink()
    assert accelerator.choose({}).reason.startswith("not compiled")
