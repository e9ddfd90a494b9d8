"""External programs the tests run (Debian packages installed by `make setup`): a missing one fails, never skips."""

import shutil


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is not installed; run `make setup` (Debian package `prometheus`)"
    return found
