"""The worker's offset queries on a client of their own: they answer while a broker is there and give up when not."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaProducer

from streams.kafka.partition_offsets import SILENT_SECONDS, PartitionOffsets
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


def test_no_broker_is_no_answer_rather_than_an_error_and_the_next_questions_wait(stack) -> None:
    now = [0.0]
    offsets = PartitionOffsets({"bootstrap_servers": f"127.0.0.1:{free_port()}"}, clock=lambda: now[0])  # no one there

    async def ask() -> tuple[dict | None, dict | None]:
        return await offsets.ends([("t", 0)]), await offsets.starts([("t", 0)])

    assert asyncio.run(ask()) == (None, None)
    assert offsets._client is None  # no client started: the second question was not asked
    offsets._options["bootstrap_servers"] = stack.bootstrap  # the broker is there now
    now[0] = SILENT_SECONDS - 0.1
    assert asyncio.run(offsets.starts([("t", 0)])) is None  # still not asked
    now[0] = SILENT_SECONDS

    async def asked_and_closed() -> dict | None:
        try:
            return await offsets.starts([("offsets-absent", 0)])
        finally:
            await offsets.close()

    assert asyncio.run(asked_and_closed()) is not None
