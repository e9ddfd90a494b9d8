"""Which partition a customer's records, changelog entries and timer reviews belong to."""

from __future__ import annotations

from functools import lru_cache

from kafka.partitioner.default import murmur2

# kafka-python's murmur2 is pure Python (a few microseconds a key), and every event asks for its customer's
# partition more than once (outputs, changelog, timer): the busiest customers' answers are kept.
PARTITION_CACHE = 65_536


@lru_cache(maxsize=PARTITION_CACHE)
def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives `key`, as producers and the changelog do."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
