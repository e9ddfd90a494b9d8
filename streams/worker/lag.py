"""Consumer lag per input topic: how many records this worker has not scored yet.

Lag here is a partition's end offset (a ListOffsets request to the broker,
on a client of its own: streams/kafka/partition_offsets.py) minus the first record whose batch has not completed (scored, outputs
acknowledged, state stored), summed over the input partitions this worker is
assigned. Not the Kafka client's `records-lag` (end minus fetch position):
Faust fetches far ahead of scoring, so that read 0 while the worker was
thousands of records behind. The label is the topic name only, so the series
count is bounded by the number of input topics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import faust
from faust.types import TP

from streams.kafka.partition_offsets import PartitionOffsets
from streams.metrics import Metrics

logger = logging.getLogger(__name__)

# How often lag is sampled; one ListOffsets request per sample, so cheap at this pace.
LAG_INTERVAL_SECONDS = 2.0


def lag_by_topic(topics: Iterable[str], ends: Mapping[TP, int], positions: Mapping[TP, int | None]) -> dict[str, int]:
    """Records behind per topic, over the partitions with both offsets known; every topic appears, 0 if none.

    A position past the reported end (Tansu reports a multi-record batch's end
    short) counts as no lag rather than negative lag.
    """
    lag = dict.fromkeys(topics, 0)
    for tp, end in ends.items():
        position = positions.get(tp)
        if tp.topic in lag and end is not None and position is not None:
            lag[tp.topic] += max(0, end - position)
    return lag


async def input_positions(app: faust.App, topics: Iterable[str]) -> dict[TP, int] | None:
    """The consumer's read position of each assigned partition of `topics`; None when a rebalance cut the read short."""
    topics = list(topics)
    consumer = app.consumer
    try:
        positions = {tp: await consumer.position(tp) for tp in consumer.assignment() if tp.topic in topics}
    except Exception as exc:  # noqa: BLE001 - a rebalance mid-sample; the next one sees the new assignment
        logger.debug("positions skipped: %r", exc)
        return None
    return {tp: p for tp, p in positions.items() if p is not None}


async def sample_lag(
    offsets: PartitionOffsets, topics: Iterable[str], metrics: Metrics, positions: Mapping[TP, int] | None
) -> dict[str, int] | None:
    """Set `healthscore_consumer_lag_records` for every input topic from `positions`, the first record not scored.

    Returns the lag per topic. Without positions (a rebalance cut the read
    short) or without the partitions' ends (the broker did not answer in
    time) the gauge keeps its last values and None is returned.
    """
    if positions is None:
        return None
    topics = list(topics)
    ends = await offsets.ends(tp for tp in positions if tp.topic in topics)
    if ends is None:
        return None
    lag = lag_by_topic(topics, ends, positions)
    for topic, records in lag.items():
        metrics.consumer_lag.labels(topic).set(records)
    return lag
