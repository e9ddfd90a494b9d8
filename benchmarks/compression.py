"""Benchmark: what each codec costs and saves on the worker's own output producer, on the local stack.

Why: HEALTHSCORE_COMPRESSION sets how the project's producers compress
record batches; its default was picked from this run. The records are what
the worker's output producer (streams/kafka/producer.py) sends: the
ScoreUpdates and alerts of the sample replayed, and each customer's stored
state as the changelog holds it, in the worker's batches of 500 records. For
each codec, on a fresh topic: the producer's CPU per record (encode,
compress, send, wait for the broker), the bytes of record batches sent,
the broker's CPU, and an aiokafka consumer's CPU per record to read them
back (the worker's changelog restore, an alert consumer). No worker, no Redis.

Run from the repository root (after `make setup`):

    .venv/bin/python benchmarks/compression.py            # the sample's outputs 4 times over, 32,580 records
    .venv/bin/python benchmarks/compression.py --repeat 1
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from pydantic import ValidationError

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from schemas.events import EVENT_ADAPTER  # noqa: E402 - after the path set above
from schemas.model_config import ScoringModel  # noqa: E402
from scoring.records import encode  # noqa: E402
from scoring.replay import replay  # noqa: E402
from scoring.state_codec import encode_state  # noqa: E402
from soak import cpu_seconds  # noqa: E402
from streams.kafka.producer import OutputProducer  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.tools.localstack import local_stack  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample_events.jsonl"

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
BATCH_RECORDS = 500  # the worker's HEALTHSCORE_BATCH_MAX_EVENTS: its outputs are flushed once per batch
PARTITIONS = 4


class MeasuredProducer(OutputProducer):
    """The worker's output producer, keeping the record batches it sends to count their bytes once built."""

    batches: list

    async def _send(self, producer, destination, batch) -> None:  # noqa: ANN001 - as the parent's
        await super()._send(producer, destination, batch)
        self.batches.append(batch)  # built (compressed) by the sender before its acknowledgement

    @property
    def sent_bytes(self) -> int:
        return sum(batch.size() for batch in self.batches)


def sample_events() -> list:
    events = []
    for line in SAMPLE.read_bytes().splitlines():
        try:
            events.append(EVENT_ADAPTER.validate_json(line))
        except ValidationError:
            continue  # the sample's deliberately invalid lines
    return events


def output_records(repeat: int) -> list[tuple[bytes, bytes]]:
    """(key, value) as the worker sends them: every update and alert of the sample replay, then each final state."""
    result = replay(sample_events(), ScoringModel())
    records = [(u.customer_id.encode(), encode(u)) for u in result.updates]
    records += [(a.customer_id.encode(), encode(a)) for a in result.alerts]
    records += [(cid.encode(), encode_state(state)) for cid, state in result.states.items()]
    return [(f"{n}-".encode() + key, value) for n in range(repeat) for key, value in records]


async def produce(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> tuple[float, int]:
    """CPU seconds of this process to queue and flush every record in worker-sized batches, and bytes sent."""
    producer = MeasuredProducer(settings)
    producer.batches = []
    await producer.queue(topic, b"warm-up", b"{}")  # connects and reads metadata outside the measurement
    await producer.flush()
    producer.batches = []
    started = time.process_time()
    for first in range(0, len(records), BATCH_RECORDS):
        for key, value in records[first : first + BATCH_RECORDS]:
            await producer.queue(topic, key, value)
        await producer.flush()
    cpu = time.process_time() - started
    await producer.stop()
    return cpu, producer.sent_bytes


async def consume(bootstrap: str, topic: str, expected: int) -> float:
    """CPU seconds of this process to read every record of `topic` back with aiokafka."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    read, started = 0, time.process_time()
    try:
        while read < expected:
            batches = await consumer.getmany(timeout_ms=2000)
            if not batches:
                raise RuntimeError(f"read {read} of {expected} records of {topic}, then nothing more came")
            read += sum(len(records) for records in batches.values())
    finally:
        cpu = time.process_time() - started
        await consumer.stop()
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=4, help="times the sample replay's records are sent")
    args = parser.parse_args()
    records = output_records(args.repeat)
    raw_bytes = sum(len(k) + len(v) for k, v in records)
    print(f"{len(records):,} records, {raw_bytes / len(records):.0f} bytes of key and value each on average")
    with tempfile.TemporaryDirectory() as workdir, local_stack(Path(workdir)) as stack:
        broker = stack.processes["broker"].pid
        print(
            f"{'codec':8} {'bytes sent':>12} {'per record':>11} {'vs none':>8} {'produce us/rec':>15} "
            f"{'consume us/rec':>15} {'broker us/rec':>14}"
        )
        baseline = None
        for codec in CODECS:
            topic = f"compression-{codec}-{time.time_ns()}"
            settings = Settings.from_env(stack.env() | {"HEALTHSCORE_COMPRESSION": codec})
            admin = KafkaAdminClient(bootstrap_servers=stack.bootstrap)
            admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
            admin.close()
            broker_before = cpu_seconds(broker)
            produce_cpu, sent = asyncio.run(produce(settings, topic, records))
            consume_cpu = asyncio.run(consume(stack.bootstrap, topic, len(records) + 1))
            broker_cpu = cpu_seconds(broker) - broker_before
            baseline = baseline or sent
            per = 1e6 / len(records)
            print(
                f"{codec:8} {sent:>12,} {sent / len(records):>11.0f} {sent / baseline:>8.2f} "
                f"{produce_cpu * per:>15.1f} {consume_cpu * per:>15.1f} {broker_cpu * per:>14.1f}"
            )


if __name__ == "__main__":
    main()
