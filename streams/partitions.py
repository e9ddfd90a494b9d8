"""Which partition a customer's records, changelog entries and timer reviews belong to."""

from __future__ import annotations

from kafka.partitioner.default import murmur2


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives `key`, as producers and the changelog do."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
