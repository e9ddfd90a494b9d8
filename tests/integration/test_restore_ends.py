"""What a restore relies on, against the real local broker and Redis: where a changelog really ends, and a Redis
snapshot that only moves forward in time."""

from __future__ import annotations

import asyncio
import uuid

import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.model_config import ScoringModel
from scoring.replay import replay
from streams.kafka.partition_ends import true_ends
from streams.metrics import Metrics
from streams.snapshot.keys import customer_key
from streams.snapshot.writer import RedisSink
from tests.factories import purchase, visit


async def write_and_probe(bootstrap: str, topic: str) -> tuple[int, dict]:
    """Five one-record batches, then one batch of twenty records; the end the broker reports and the probed ones."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    for n in range(5):
        await (await producer.send(topic, b"single", key=f"k{n}".encode(), partition=0))
    batch = producer.create_batch()
    for n in range(20):
        batch.append(key=f"s{n}".encode(), value=b"state", timestamp=None)
    await (await producer.send_batch(batch, topic, partition=0))
    await (await producer.send(topic, b"only", partition=1))
    await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    reported = (await consumer.end_offsets([TopicPartition(topic, 0)]))[TopicPartition(topic, 0)]
    await consumer.stop()
    ends = await true_ends({"bootstrap_servers": bootstrap}, {(topic, 0): reported, (topic, 1): 1, (topic, 2): 0})
    return reported, ends


def test_a_partition_whose_last_batch_holds_many_records_is_found_to_end_after_all_of_them(stack) -> None:
    topic = f"ends-{uuid.uuid4().hex[:8]}"
    reported, ends = asyncio.run(write_and_probe(stack.bootstrap, topic))
    assert reported == 6  # the local broker's answer: the first offset of the last batch + 1
    assert ends == {(topic, 0): 25, (topic, 1): 1, (topic, 2): 0}  # what a restore must read up to


def test_redis_keeps_each_customers_newest_snapshot_whatever_order_they_are_written_in(stack) -> None:
    """A fenced or late worker's older snapshot never overwrites the newer one another worker wrote."""
    updates = replay([purchase("a", 0), visit("a", 5), purchase("a", 9)], ScoringModel()).updates
    prefix = f"order-{uuid.uuid4().hex[:8]}"

    async def write(order: list[int]) -> None:
        sink = RedisSink(stack.redis_url, prefix, Metrics())
        for n in order:
            sink.offer(updates[n])
            assert await sink.flush() == 1
        await sink.close()

    asyncio.run(write([0, 2, 1, 0]))
    stored = redis.Redis.from_url(stack.redis_url).hgetall(customer_key(prefix, "a"))
    assert stored[b"score"].decode() == f"{updates[2].score:.1f}"
    assert stored[b"scored_at"].decode() == updates[2].scored_at.isoformat()
