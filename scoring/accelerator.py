"""Which form of the hot modules this process runs: compiled from their source by Cython, or the source itself.

`scripts/build_compiled.py` (run by `make setup`) compiles the modules of
the hot path, unchanged, into extension modules in `scoring/_compiled/`
with a manifest of the source they were built from. At import,
`scoring/__init__.py` puts that folder first on the package's path when
every module it lists was built from the source as it is now, for this
Python; otherwise it leaves it out and the source runs. A module edited
since the build can therefore never run as its stale compiled self, and a
machine without a C compiler still runs the service.

Both forms give the same outputs, bit for bit (the compiled form is the
same code, and its C is built without fused multiply-adds), which a test
checks by replaying events through each. HEALTHSCORE_PURE_PYTHON=1 runs
the source even when the compiled form is there, to rule it out.

This module reads files and one environment variable at import, the only
I/O in `scoring`: choosing how code is loaded, not what it computes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

# The per-event work of the worker: the fold, the model, alerts, outputs, the dedup memory, the state codec.
MODULES = ("alerts", "clv", "instants", "model", "model_choice", "overrides", "pipeline", "records", "schedule",
           "seen", "signals", "state", "state_codec", "windows")  # fmt: skip
SOURCE = Path(__file__).resolve().parent
COMPILED = SOURCE / "_compiled"
MANIFEST = COMPILED / "manifest.json"
PURE_ENV = "HEALTHSCORE_PURE_PYTHON"


@dataclass(frozen=True)
class Form:
    """What runs: "compiled" or "python", and why, in words for a log line."""

    name: str
    reason: str


def source_digest(module: str) -> str:
    """SHA-256 of a module's source: what a compiled module must have been built from to be used."""
    return hashlib.sha256((SOURCE / f"{module}.py").read_bytes()).hexdigest()


def manifest(built_with: str) -> dict[str, object]:
    """The manifest the build writes next to the modules it compiled."""
    return {"python": sys.implementation.cache_tag, "cython": built_with,
            "modules": {m: source_digest(m) for m in MODULES}}  # fmt: skip


def choose(environ: dict[str, str] | None = None) -> Form:
    """The form to run here: compiled only when asked for by nothing else and built from this very source."""
    environ = os.environ if environ is None else environ
    if environ.get(PURE_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return Form("python", f"{PURE_ENV} is set")
    if not MANIFEST.is_file():
        return Form("python", "not compiled (scripts/build_compiled.py builds it; `make setup` runs it)")
    try:
        built = json.loads(MANIFEST.read_text())
        python, modules = built["python"], built["modules"]
    except (ValueError, KeyError, TypeError):
        return Form("python", f"{MANIFEST.name} is unreadable; build again")
    if python != sys.implementation.cache_tag:
        return Form("python", f"compiled for {python}, this is {sys.implementation.cache_tag}; build again")
    for module in MODULES:
        if modules.get(module) != source_digest(module):
            return Form("python", f"scoring/{module}.py changed since it was compiled; build again")
        if not any((COMPILED / f"{module}{suffix}").is_file() for suffix in EXTENSION_SUFFIXES):
            return Form("python", f"the compiled {module} is missing; build again")
    return Form("compiled", f"{len(MODULES)} modules compiled by Cython {built.get('cython', '?')}")


FORM = choose()


def search_path(package_path: list[str]) -> list[str]:
    """The package's module search path, with the compiled folder first when that form is chosen."""
    return [str(COMPILED), *package_path] if FORM.name == "compiled" else list(package_path)
