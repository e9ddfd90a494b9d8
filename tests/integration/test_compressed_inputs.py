"""Producers nobody here wrote compress their batches: every codec is scored, and an unreadable batch stops nothing.

librdkafka (through confluent-kafka) and kafka-python publish valid events
compressed with gzip, snappy, lz4 and zstd, interleaved with uncompressed
batches on the same partitions; every event must come out as exactly one
ScoreUpdate. Then batches no client can decode (an unknown codec id,
corrupt compressed bytes) are written to the broker as they are: the
worker dead-letters each as its offset range, once, even across a restart,
and scores every valid event around them on every partition.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter

import pytest
from aiokafka import AIOKafkaProducer
from confluent_kafka import Producer
from kafka import KafkaProducer

from schemas.outputs import DeadLetter, ScoreUpdate
from streams.kafka.partitions import partition_of
from tests.batches import corrupted
from tests.factories import purchase, survey, ticket, visit

CODECS = ["gzip", "snappy", "lz4", "zstd"]


def events_of(customers: int, tag: str) -> list:
    out = []
    for n in range(customers):
        cid = f"{tag}-{n:03d}"
        out += [purchase(cid, 0, 40.0), visit(cid, 1), ticket(cid, 2), survey(cid, 3, "csat", 4), purchase(cid, 5)]
    return out


def by_id(records) -> Counter:
    return Counter(ScoreUpdate.model_validate_json(r.value).event_id for r in records)


def librdkafka_send(bootstrap: str, codec: str | None, records: list[tuple[str, bytes, bytes]]) -> None:
    """confluent-kafka (librdkafka), partitioning keys as the Java client does (murmur2)."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "compression.type": codec or "none",
            "linger.ms": 20,
            "partitioner": "murmur2_random",
            "acks": "all",
        }
    )
    for topic, key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0, "librdkafka did not deliver every record"


def kafka_python_send(bootstrap: str, codec: str | None, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, linger_ms=20, acks="all")
    for topic, key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def test_events_compressed_with_every_codec_by_two_clients_are_each_scored_exactly_once(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    sent = events_of(40, "z")
    records = [(topics[e.kind], e.customer_id.encode(), e.model_dump_json().encode()) for e in sent]
    # Rounds of a few records each, every client and codec in turn, uncompressed between: mixed on each partition.
    senders = [(send, codec) for codec in CODECS for send in (librdkafka_send, kafka_python_send)]
    senders += [(kafka_python_send, None)]
    step = len(records) // (3 * len(senders)) + 1
    for n, first in enumerate(range(0, len(records), step)):
        send, codec = senders[n % len(senders)]
        send(run.stack.bootstrap, codec, records[first : first + step])

    scored = by_id(run.read(run.settings.topic_scores, len(sent)))
    assert scored == Counter(e.event_id for e in sent)  # each once, none missing
    assert run.read(run.settings.topic_deadletter, 0, timeout=2) == []


async def send_raw(bootstrap: str, topic: str, partition: int, records: list[tuple[bytes, bytes]], spoil) -> None:
    """One batch of `records` to one partition, gzip-compressed, then spoiled byte by byte (`spoil`) before it goes.

    The local broker stores such a batch as it came (Apache Kafka would refuse it:
    there a batch goes bad on disk, or in a consumer lacking a codec).
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip", acks="all")
    await producer.start()
    try:
        batch = producer.create_batch()
        for key, value in records:
            assert batch.append(key=key, value=value, timestamp=None) is not None
        spoil(batch._build())  # the bytes the producer will send, changed in place
        await (await producer.send_batch(batch, topic, partition=partition))
    finally:
        await producer.stop()


def on_partition_zero(partitions: int, tag: str, count: int) -> list[str]:
    return [c for c in (f"{tag}-{n:03d}" for n in range(300)) if partition_of(c.encode(), partitions) == 0][:count]


def records_of(run, events) -> list[tuple[str, bytes, bytes]]:
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    return [(topics[e.kind], e.customer_id.encode(), e.model_dump_json().encode()) for e in events]


def crc_broken(raw: bytearray) -> bytearray:
    raw[-4:] = b"\xff\xff\xff\xff"  # the CRC no longer matches
    return raw


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_a_batch_no_client_can_decode_is_dead_lettered_as_its_range_once_and_nothing_else_stops(deploy, store) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", HEALTHSCORE_STORE=store)
    bootstrap, purchases = run.stack.bootstrap, run.settings.topic_purchases
    here = on_partition_zero(run.settings.partitions, "p0", 3)  # where the bad batches go
    around = events_of(12, "x")  # every partition of every topic
    before, middle, after = ([purchase(c, day) for c in here] for day in (0, 2, 4))
    lost = [[(c.encode(), purchase(c, day).model_dump_json().encode()) for c in here] for day in (1, 3)]

    run.publish(records_of(run, around + before))
    asyncio.run(send_raw(bootstrap, purchases, 0, lost[0], corrupted))
    run.publish(records_of(run, middle))
    asyncio.run(send_raw(bootstrap, purchases, 0, lost[1], crc_broken))
    run.publish(records_of(run, after))

    valid = around + before + middle + after
    assert by_id(run.read(run.settings.topic_scores, len(valid))) == Counter(e.event_id for e in valid)
    letters = [DeadLetter.model_validate_json(r.value) for r in run.read(run.settings.topic_deadletter, 2)]
    assert [(d.error, d.topic, d.partition) for d in letters] == [("undecodable_batch", purchases, 0)] * 2
    first, second = sorted(letters, key=lambda d: d.offset)
    assert [(d.last_offset - d.offset + 1) for d in (first, second)] == [3, 3]
    assert second.offset - first.last_offset == len(middle) + 1  # the valid records between kept their offsets
    assert "while decompressing data" in first.reason and "Invalid CRC" in second.reason
    assert base64.b64decode(first.value_base64)[:8] == first.offset.to_bytes(8, "big")  # the batch, header first
    assert 'healthscore_dead_letters_total{error="undecodable_batch"} 2.0' in run.metrics()
    assert run.log.read_text().count("could not be decoded") == 2

    # Committed past: a restarted worker neither meets the batches again nor dead-letters them twice.
    run.restart()
    late = purchase(here[0], 6)
    run.publish(records_of(run, [late]))
    assert by_id(run.read(run.settings.topic_scores, len(valid) + 1))[late.event_id] == 1
    assert len(run.read(run.settings.topic_deadletter, 2, timeout=5, settle=2)) == 2


def test_a_worker_missing_a_codec_library_dead_letters_those_batches_and_scores_every_other_record(deploy) -> None:
    """The defect this came from: lz4 batches from librdkafka took a worker without lz4 down, every partition."""
    run = deploy("tests.integration.codecless_worker", HEALTHSCORE_INACTIVITY_TIMER="false")
    here = on_partition_zero(run.settings.partitions, "c", 4)
    readable = events_of(10, "g")
    unreadable = [purchase(c, 0) for c in here]
    librdkafka_send(run.stack.bootstrap, "gzip", records_of(run, readable[: len(readable) // 2]))
    librdkafka_send(run.stack.bootstrap, "lz4", records_of(run, unreadable))
    librdkafka_send(run.stack.bootstrap, "gzip", records_of(run, readable[len(readable) // 2 :]))

    assert by_id(run.read(run.settings.topic_scores, len(readable))) == Counter(e.event_id for e in readable)
    [letter] = [DeadLetter.model_validate_json(r.value) for r in run.read(run.settings.topic_deadletter, 1)]
    assert (letter.error, letter.partition, letter.last_offset - letter.offset + 1) == ("undecodable_batch", 0, 4)
    assert "Libraries for lz4 compression codec not found" in letter.reason
