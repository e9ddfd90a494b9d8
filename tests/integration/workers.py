"""Watching workers from outside: their assignment (from their logs), conditions to wait for, records to send them."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

from streams.tools.localstack import free_port

# Every topic a worker reads or writes: each deployment gets its own copy, suffixed.
TOPIC_NAMES = ["purchases", "visits", "tickets", "surveys", "profiles", "erasures", "overrides", "scores", "alerts",
               "deadletter", "audit"]  # fmt: skip


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


def isolated_env(datadir_root: Path, prefix: str, **overrides: str) -> dict[str, str]:
    """HEALTHSCORE_* settings of a worker with its own group, topics, Redis prefix, port and data (event clock)."""
    suffix = uuid.uuid4().hex[:8]
    return {
        "HEALTHSCORE_APP_ID": f"{prefix}-{suffix}",
        "HEALTHSCORE_CLOCK": "event",
        "HEALTHSCORE_WEB_PORT": str(free_port()),
        "HEALTHSCORE_DATADIR": str(datadir_root / f"data-{suffix}"),
        "HEALTHSCORE_REDIS_PREFIX": f"{prefix}-{suffix}",
        **{f"HEALTHSCORE_TOPIC_{n.upper()}": f"{n}-{suffix}" for n in TOPIC_NAMES},
        **overrides,
    }

