"""The worker's offset queries on a client of their own: they answer while a broker is there and give up when not."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaProducer

from streams.kafka.partition_offsets import PartitionOffsets
from streams.tools.localstack import free_port


async def publish_and_ask(bootstrap: str, topic: str) -> tuple[dict | None, dict | None]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    for n in range(3):  # one record a batch: the local broker reports the end of a one-record batch right
        await (await producer.send(topic, b"event", key=f"k{n}".encode(), partition=0))
    await producer.stop()
    offsets = PartitionOffsets({"bootstrap_servers": bootstrap})
    try:
        return await offsets.starts([(topic, 0), (topic, 1)]), await offsets.ends([(topic, 0), (topic, 1)])
    finally:
        await offsets.close()


def test_the_first_and_end_offsets_of_partitions_come_back_keyed_as_asked(stack) -> None:
    topic = f"offsets-{uuid.uuid4().hex[:8]}"
    starts, ends = asyncio.run(publish_and_ask(stack.bootstrap, topic))
    assert starts == {(topic, 0): 0, (topic, 1): 0}
    assert ends == {(topic, 0): 3, (topic, 1): 0}


def test_no_broker_is_no_answer_rather_than_an_error() -> None:
    async def ask() -> tuple[dict | None, dict | None]:
        offsets = PartitionOffsets({"bootstrap_servers": f"127.0.0.1:{free_port()}"})  # nothing listens there
        try:
            return await offsets.ends([("t", 0)]), await offsets.starts([("t", 0)])
        finally:
            await offsets.close()

    assert asyncio.run(ask()) == (None, None)
