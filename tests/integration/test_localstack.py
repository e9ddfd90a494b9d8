"""The project's own local stack: a real broker and Redis on free loopback ports, gone afterwards."""

import socket

import pytest
import redis
from kafka import KafkaProducer

from streams.localstack import local_stack
from streams.topics import topic_reader

pytestmark = pytest.mark.integration


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_stack_serves_kafka_and_redis_and_stops_cleanly(tmp_path) -> None:
    with local_stack(tmp_path) as stack:
        processes = dict(stack.processes)
        assert stack.broker_port != stack.redis_port
        assert redis.Redis.from_url(stack.redis_url).ping()
        producer = KafkaProducer(bootstrap_servers=stack.bootstrap)
        producer.send("smoke", key=b"k", value=b"hello").get(timeout=10)
        producer.close()
        reader = topic_reader([stack.bootstrap], ["smoke"])
        values = [r.value for batch in reader.poll(timeout_ms=5000).values() for r in batch]
        reader.close()
        assert values == [b"hello"]
    assert all(p.poll() is not None for p in processes.values())
    assert not listening(stack.broker_port) and not listening(stack.redis_port)
