"""Polling for a condition that eventually holds, for tests of processes that run on their own.

A test never sleeps to let something happen: it looks, again and again,
for what it can observe (`until`, `eventually`). `watch` answers the other
question, that nothing more comes for a while. Every wait of the tests is
one of these three, so each has a timeout and none assumes a speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Between two looks: soon enough that a test goes on as the condition holds, seldom enough to leave the
# machine to the processes under test. A look that blocks by itself (a consumer's poll) passes interval=0.
INTERVAL = 0.1


def eventually(
    probe: Callable[[], T], accept: Callable[[T], object], timeout: float = 10.0, interval: float = INTERVAL
) -> T:
    """The first value of `probe()` that `accept` takes; after `timeout` seconds the last one seen, to report."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def until(condition: Callable[[], object], timeout: float = 10.0, interval: float = INTERVAL) -> bool:
    """True as soon as `condition()` is; False if it still is not after `timeout` seconds."""
    return bool(eventually(condition, bool, timeout, interval))


def watch(look: Callable[[], object], seconds: float, interval: float = INTERVAL) -> None:
    """Call `look()` over and over for `seconds`: to see that nothing more comes, never to wait for something."""
    eventually(look, lambda _: False, seconds, interval)
