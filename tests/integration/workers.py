"""Watching workers from outside: their assignment (from their logs), what they published, what their group
committed, records to send them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from streams.kafka.topics import topic_reader
from streams.tools.localstack import free_port
from tests.waiting import until

# Every topic a worker reads or writes: each deployment gets its own copy, suffixed.
TOPIC_NAMES = [
    "purchases",
    "visits",
    "tickets",
    "surveys",
    "profiles",
    "erasures",
    "overrides",
    "scores",
    "alerts",
    "deadletter",
    "audit",
]


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


def take(reader: KafkaConsumer, into: list) -> int:
    """Add what one poll of `reader` brings to `into`; how many records `into` holds then."""
    for batch in reader.poll(timeout_ms=200).values():
        into.extend(batch)
    return len(into)


def read_to_end(reader: KafkaConsumer, into: list, timeout: float = 30.0) -> list:
    """Add to `into` every record of `reader`'s partitions up to their ends as of now; returns `into`.

    Tansu reports a partition's end as the first offset of its last batch
    + 1, and a poll hands out at most `max_poll_records`, so reaching the
    reported ends can leave the rest of a last batch unread: reading goes on
    until a poll past the ends brings nothing.
    """
    ends = reader.end_offsets(list(reader.assignment()))

    def past_the_ends() -> bool:
        at_ends = all(reader.position(tp) >= end for tp, end in ends.items())
        batches = reader.poll(timeout_ms=500 if at_ends else 200).values()
        for batch in batches:
            into.extend(batch)
        return at_ends and not batches

    assert until(past_the_ends, timeout, interval=0), f"could not read to the ends {ends} in {timeout:.0f} s"
    return into


def read_all(bootstrap: str, topics: list[str], timeout: float = 30.0) -> list:
    """Every record on `topics` as of now."""
    reader = topic_reader([bootstrap], topics)
    try:
        return read_to_end(reader, [], timeout)
    finally:
        reader.close()


def committed_offsets(bootstrap: str, group: str, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """The group's committed offsets of `partitions` (-1: none), as their next owner would resume from them."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        found = admin.list_group_offsets({group: list(partitions)}).get(group, {})
        return {tp: meta.offset for tp, meta in found.items()}
    finally:
        admin.close()


def uncommitted(bootstrap: str, group: str, topics: list[str]) -> dict[TopicPartition, tuple[int, int]]:
    """The partitions of `topics` whose records the group has not all committed: (committed, end) of each.

    Empty once the group is past every record on them now: a worker stores
    a batch's outputs and states before it commits its offsets, so all it
    publishes for those records is on the broker then.
    """
    reader = topic_reader([bootstrap], topics)
    try:
        ends = reader.end_offsets(list(reader.assignment()))
    finally:
        reader.close()
    committed = committed_offsets(bootstrap, group, ends)
    return {tp: (committed.get(tp, -1), end) for tp, end in ends.items() if end > max(committed.get(tp, -1), 0)}


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
