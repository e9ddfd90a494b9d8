"""`healthscore tail`: follow an output topic and print its records as they come, outside any consumer group.

No group: nothing joins, nothing is committed, no one's offsets move. The
consumer is assigned every partition of the topic, so records of one
customer come in order, and those of different customers interleave as
their partitions are fetched.

"From the end" means the records written after the command starts. Each
partition is read from its end offset as the broker reports it, and until
the first record stamped at or after the start, records stamped before it
are left out: Apache Kafka's end offsets are exact and nothing is left out,
while the local broker (Tansu) reports a partition's end as the first offset
of its last batch + 1, which would otherwise show the rest of that batch,
records published before the command started.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streams.exceptions import TailError
from streams.kafka.connections import connect, kafka_options
from streams.kafka.topics import assign_every_partition
from streams.settings import Settings
from streams.tools.render import customer_of

POLL_MS = 500
# How long to wait for the topic's partitions before saying it does not exist (yet).
TOPIC_WAIT_SECONDS = 10.0


def topic_of(kind: str, settings: Settings) -> str:
    return {
        "scores": settings.topic_scores,
        "alerts": settings.topic_alerts,
        "deadletter": settings.topic_deadletter,
        "audit": settings.topic_audit,
    }[kind]


@dataclass
class WrittenSince:
    """Which records were written since `started_ms`: per partition, none before its first stamped at or after it."""

    started_ms: int
    caught_up: set[TopicPartition] = field(default_factory=set)

    def __call__(self, tp: TopicPartition, timestamp_ms: int) -> bool:
        if tp in self.caught_up:
            return True
        if timestamp_ms >= self.started_ms:
            self.caught_up.add(tp)
            return True
        return False


@dataclass(frozen=True)
class TailRequest:
    kind: str  # a key of render.OUTPUTS
    customer: str | None = None
    from_beginning: bool = False
    limit: int | None = None  # stop after this many records shown


def open_reader(settings: Settings, topic: str, from_beginning: bool) -> tuple[KafkaConsumer, WrittenSince | None]:
    """A consumer of every partition of `topic`, at its beginning or its end, and the filter of records from before."""
    consumer = connect(KafkaConsumer, settings, **kafka_options(settings), group_id=None, enable_auto_commit=False)
    try:
        partitions = assign_every_partition(consumer, [topic], TOPIC_WAIT_SECONDS)
    except KafkaError as exc:
        raise TailError(f"{exc}: does the topic exist? A worker creates it when it starts") from exc
    if from_beginning:
        consumer.seek_to_beginning(*partitions)
        return consumer, None
    started_ms = int(time.time() * 1000)
    for tp, end in consumer.end_offsets(partitions).items():
        consumer.seek(tp, end)
    return consumer, WrittenSince(started_ms)


def records(
    consumer: KafkaConsumer, request: TailRequest, fresh: WrittenSince | None
) -> Iterator[tuple[bytes | None, bytes | None]]:
    """(key, value) of each record of the customer asked for (all without one), as they come, until the limit."""
    shown = 0
    while request.limit is None or shown < request.limit:
        for tp, batch in consumer.poll(timeout_ms=POLL_MS).items():
            for record in batch:
                if fresh is not None and not fresh(tp, record.timestamp):
                    continue
                if (
                    request.customer is not None
                    and customer_of(request.kind, record.key, record.value) != request.customer
                ):
                    continue
                yield record.key, record.value
                shown += 1
                if request.limit is not None and shown >= request.limit:
                    return


def tail(
    settings: Settings,
    request: TailRequest,
    show: Callable[[bytes | None, bytes | None], None],
    ready: Callable[[str], None],
) -> None:
    """Follow the output topic `request.kind`, handing `show` each record's key and value (None: a tombstone).

    `ready` is told what is followed once the reader is in place: from then on, nothing written is missed.
    """
    topic = topic_of(request.kind, settings)
    consumer, fresh = open_reader(settings, topic, request.from_beginning)
    try:
        where = "the beginning" if request.from_beginning else "the end"
        ready(f"following {topic} from {where}" + (f" for {request.customer}" if request.customer else ""))
        for key, value in records(consumer, request, fresh):
            show(key, value)
    finally:
        consumer.close()


def raw_json(value: bytes | None) -> str:
    """A record's value as it is, for jq and other tools; a tombstone (the customer erased) is `null`."""
    return "null" if value is None else value.decode("utf-8", "replace")
