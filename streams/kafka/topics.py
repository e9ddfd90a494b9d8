"""Topic creation, so inputs, outputs and the state table agree on partition counts."""

from __future__ import annotations

import logging
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.kafka.connections import connect, kafka_options
from streams.settings import Settings

logger = logging.getLogger(__name__)


def ensure_topics(settings: Settings) -> None:
    """Create the input and output topics with `settings.partitions`; existing ones are left alone.

    Inputs must have as many partitions as the state table, because each
    table partition lives where its input partition is consumed. No broker
    within HEALTHSCORE_CONNECT_TIMEOUT_SECONDS is BrokerUnavailable.
    """
    admin = connect(KafkaAdminClient, settings, **kafka_options(settings), client_id=f"{settings.app_id}-admin")
    try:
        existing = set(admin.list_topics())
        names = [*settings.input_topics(), *settings.control_topics(), *settings.output_topics()]
        for name in names:
            if name in existing:
                continue
            try:
                admin.create_topics([NewTopic(name, settings.partitions, 1)])
                logger.info("created topic %s with %d partitions", name, settings.partitions)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def topic_reader(bootstrap_servers: list[str], topics: list[str], timeout: float = 10.0) -> KafkaConsumer:
    """A consumer of every partition of `topics` from the beginning, outside any group.

    Without a group there is no join to wait for (Tansu holds joins for
    half the session timeout), and no offsets are committed for others.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None)
    partitions = assign_every_partition(consumer, topics, timeout)
    consumer.seek_to_beginning(*partitions)
    return consumer


def assign_every_partition(consumer: KafkaConsumer, topics: list[str], timeout: float = 10.0) -> list[TopicPartition]:
    """Assign `consumer` every partition of `topics`, waiting up to `timeout` for them to be known.

    Closes the consumer and raises KafkaError when a topic still has no partitions.
    """
    deadline = time.monotonic() + timeout
    partitions: list[TopicPartition] = []
    for topic in topics:
        found = consumer.partitions_for_topic(topic)
        while not found and time.monotonic() < deadline:
            time.sleep(0.2)
            found = consumer.partitions_for_topic(topic)
        if not found:
            consumer.close()
            raise KafkaError(f"topic {topic!r} has no partitions after {timeout:.0f}s")
        partitions += [TopicPartition(topic, p) for p in sorted(found)]
    consumer.assign(partitions)
    return partitions
