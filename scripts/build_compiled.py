"""Compile the scoring hot path with Cython into scoring/_compiled/, or remove that form again.

The modules are compiled as they are written: no type declarations, no
second source. Their Python stays the reference; scoring/accelerator.py
uses the compiled form only while every module matches the source it was
built from. Needs Cython, setuptools and a C compiler with the Python
headers (`make setup` installs the first two with the dev extra).

    .venv/bin/python scripts/build_compiled.py            # build (about 16 s on two cores)
    .venv/bin/python scripts/build_compiled.py --remove   # back to the source alone
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring import accelerator  # noqa: E402

# The compiled modules must compute what the source computes, to the last bit: no fused multiply-add
# (GCC fuses a * b + c by default where the target has the instruction, as on arm64), no fast math.
C_FLAGS = ["-O2", "-ffp-contract=off", "-fno-fast-math"]
DIRECTIVES = {
    "language_level": 3,
    # Type annotations stay Python's: `x: float` must not turn a value into a C double that refuses None.
    "annotation_typing": False,
    "binding": True,  # functions keep their signatures and docstrings for inspect and the docs
}


def build() -> None:
    from Cython import __version__ as cython_version
    from Cython.Build import cythonize
    from setuptools import Extension
    from setuptools.dist import Distribution

    began = time.perf_counter()
    sources = [ROOT / "scoring" / f"{m}.py" for m in accelerator.MODULES]
    with tempfile.TemporaryDirectory(prefix="healthscore-build-") as work:
        extensions = [Extension(f"scoring.{s.stem}", [str(s)], extra_compile_args=C_FLAGS) for s in sources]
        modules = cythonize(extensions, build_dir=work, compiler_directives=DIRECTIVES, nthreads=os.cpu_count() or 1,
                            quiet=True)  # fmt: skip
        # A Distribution of our own, run in the temporary folder, so setuptools never reads this project's pyproject.
        dist = Distribution({"name": "healthscore-compiled", "ext_modules": modules, "script_name": "build_compiled"})
        command = dist.get_command_obj("build_ext")
        command.build_lib, command.build_temp = str(Path(work) / "lib"), str(Path(work) / "temp")
        command.parallel = os.cpu_count() or 1
        cwd = Path.cwd()
        os.chdir(work)
        try:
            dist.run_command("build_ext")
        finally:
            os.chdir(cwd)
        staging = Path(work) / "compiled"
        staging.mkdir()
        for built in (Path(work) / "lib" / "scoring").iterdir():
            shutil.copy2(built, staging / built.name)
        (staging / "manifest.json").write_text(json.dumps(accelerator.manifest(cython_version), indent=1) + "\n")
        remove()
        shutil.move(str(staging), accelerator.COMPILED)
    print(f"compiled {len(sources)} modules into {accelerator.COMPILED.relative_to(ROOT)} with Cython "
          f"{cython_version} in {time.perf_counter() - began:.0f} s")  # fmt: skip


def remove() -> None:
    if accelerator.COMPILED.exists():
        shutil.rmtree(accelerator.COMPILED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--remove", action="store_true", help="delete the compiled form; the source runs")
    args = parser.parse_args()
    if args.remove:
        remove()
        print(f"removed {accelerator.COMPILED.relative_to(ROOT)}")
    else:
        build()


if __name__ == "__main__":
    main()
