"""Watching workers from outside: their assignment (from their logs), conditions to wait for, records to send them."""

from __future__ import annotations

import re
import time


def records(topics: dict[str, str], events) -> list[tuple[str, bytes, bytes]]:
    return [(topics[e.kind], e.customer_id.encode(), e.model_dump_json().encode()) for e in events]


def assigned(log: str, topic: str) -> set[int]:
    """The partitions of `topic` in the worker's newest assignment, from Faust's INFO table."""
    tables = log.split("Setting newly assigned partitions")
    if len(tables) < 2:
        return set()
    row = re.search(rf"\|\s*{re.escape(topic)}\s*\|\s*\{{([^}}]*)\}}", tables[-1].split("for group")[0])
    if row is None:
        return set()
    found: set[int] = set()
    for part in row.group(1).split(","):
        low, _, high = part.strip().partition("-")
        found |= set(range(int(low), int(high or low) + 1))
    return found


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
