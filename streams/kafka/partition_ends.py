"""Where a partition really ends, for brokers that report less than what they hold.

A changelog is restored by reading it up to the end the broker reports
(ListOffsets, latest). The local broker (Tansu) reports the first offset of
a partition's last record batch + 1, so a restore stops short of every
record after the first of a multi-record last batch: the states a worker
wrote last before it was stopped, killed or fenced, which is when a restore
happens. Measured in the chaos test: customers restored without their last
events, their next scores wrong. Reading the batch that holds the last
reported offset gives its true last offset: a fetch returns whole batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

logger = logging.getLogger(__name__)

# Longest a probe waits for the batches it asked for; a partition not answered keeps the reported end.
PROBE_TIMEOUT_SECONDS = 10.0

# A (topic, partition) pair as the caller names it (Faust's TP in the worker); the ends come back keyed the same.
TopicPartitionKey = TypeVar("TopicPartitionKey", bound=tuple[str, int])


async def true_ends(options: dict[str, Any], reported: Mapping[TopicPartitionKey, int]) -> dict[TopicPartitionKey, int]:
    """Each partition's end (the offset after its last record), given the ends the broker reported.

    `reported` maps (topic, partition) tuples to ends; `options` are the
    client's connection keywords (streams/kafka/connections.py).
    """
    ends = dict(reported)
    probed = {TopicPartition(tp[0], tp[1]): tp for tp, end in reported.items() if end > 0}
    if not probed:
        return ends
    consumer = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    try:
        consumer.assign(list(probed))
        for tp, key in probed.items():
            consumer.seek(tp, reported[key] - 1)
        waiting, deadline = set(probed), time.monotonic() + PROBE_TIMEOUT_SECONDS
        while waiting and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(*waiting, timeout_ms=200)).items():
                if records:
                    ends[probed[tp]] = max(ends[probed[tp]], records[-1].offset + 1)
                    waiting.discard(tp)
        if waiting:
            logger.warning(
                "the last batches of %s did not arrive within %.0f s: their reported ends are kept",
                sorted(f"{tp.topic}[{tp.partition}]" for tp in waiting),
                PROBE_TIMEOUT_SECONDS,
            )
    finally:
        await consumer.stop()
    return ends
