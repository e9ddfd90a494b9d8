"""Talking to the local broker for the benchmark: bulk and paced publishing, raw consuming, worker metrics."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from perf.events import Record

# Bulk publishing: big batches are fine on input topics (only a changelog replay trips on
# Tansu's end offsets, and nothing reads these topics by end offset).
BULK_BATCH_BYTES = 512 * 1024
BULK_LINGER_MS = 20
IN_FLIGHT = 20_000  # sends awaited in groups of this size, to bound memory


async def publish_bulk(bootstrap: str, records: Sequence[Record], topic_of: dict[str, str]) -> float:
    """Send every record to its kind's topic keyed by customer (murmur2, as Java); seconds until all acked."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=BULK_LINGER_MS, max_batch_size=BULK_BATCH_BYTES, acks=1
    )
    await producer.start()
    started = time.perf_counter()
    try:
        for first in range(0, len(records), IN_FLIGHT):
            pending = [
                await producer.send(topic_of[r.kind], r.value, key=r.key) for r in records[first : first + IN_FLIGHT]
            ]
            await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def _assigned_consumer(bootstrap: str, topics: Sequence[str], **config: object) -> AIOKafkaConsumer:
    """A consumer of every partition of `topics` from the beginning, outside any group (no join to wait for)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **config)
    await consumer.start()
    partitions = []
    for topic in topics:
        found = consumer.partitions_for_topic(topic)
        for _ in range(600):  # up to a minute: an output topic appears with its first record
            if found:
                break
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
            found = consumer.partitions_for_topic(topic)
        partitions += [TopicPartition(topic, p) for p in sorted(found or ())]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return consumer


@dataclass(frozen=True)
class Consumed:
    records: int
    seconds: float  # first record to the last one counted

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


async def consume_count(bootstrap: str, topics: Sequence[str], expected: int, budget: float) -> Consumed:
    """Read `topics` with a plain aiokafka consumer until `expected` records or `budget` seconds have passed."""
    consumer = await _assigned_consumer(bootstrap, topics, max_partition_fetch_bytes=4 * 1024 * 1024)
    count, first, last = 0, None, None
    deadline = time.monotonic() + budget
    try:
        while count < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=20_000)
            for records in batches.values():
                if first is None:
                    first = time.perf_counter()
                count += len(records)
                last = time.perf_counter()
    finally:
        await consumer.stop()
    return Consumed(count, (last - first) if first and last else 0.0)


METRIC_LINE = re.compile(r'^healthscore_events_total\{kind="(\w+)",outcome="(\w+)"\} ([0-9.e+]+)$', re.M)


def events_handled(web_port: int) -> dict[str, int]:
    """healthscore_events_total by outcome, from the worker's /metrics; empty until it answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return {}
    outcomes: dict[str, int] = {}
    for _kind, outcome, value in METRIC_LINE.findall(text):
        outcomes[outcome] = outcomes.get(outcome, 0) + int(float(value))
    return outcomes


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)
    sent: int = 0
    published_rate: float = 0.0

    def percentile(self, q: float) -> float:
        return _percentile(self.seconds, q)

    def trend(self, parts: int = 3) -> list[float]:
        """Median latency of each successive part of the run (in arrival order): rising means falling behind."""
        size = max(1, len(self.seconds) // parts)
        return [_percentile(self.seconds[n * size : (n + 1) * size], 0.5) for n in range(parts)]


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def pace(n: int, rate: float, started: float) -> None:
    """Wait until the n-th send is due at `rate` per second from `started` (monotonic); late sends go at once."""
    ahead = n / rate - (time.monotonic() - started)
    if ahead > 0:
        await asyncio.sleep(ahead)


async def paced_latency(
    bootstrap: str,
    records: Sequence[Record],
    topic_of: dict[str, str],
    scores_topic: str,
    rate: float,
    alive: Callable[[], bool],
    linger_ms: int = 0,
) -> Latencies:
    """Publish `records` at `rate`/s; latency = a ScoreUpdate's receive time minus its event's send time.

    `linger_ms` is the publishing producer's: 0 sends most records as a batch of their own; Apache Kafka 4's
    producer lingers 5 ms by default. The latency counts the linger (the send time is taken before it).
    """
    sent_at: dict[str, float] = {}
    ids = [json.loads(r.value)["event_id"] for r in records]
    out = Latencies()
    consumer = await _assigned_consumer(bootstrap, [scores_topic], fetch_max_wait_ms=5)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=linger_ms, acks=1)
    await producer.start()

    async def receive() -> None:
        while len(out.seconds) < len(records) and alive():
            for batch in (await consumer.getmany(timeout_ms=100)).values():
                now = time.time()
                for record in batch:
                    event_id = json.loads(record.value).get("event_id") if record.value else None
                    if event_id in sent_at:
                        out.seconds.append(now - sent_at.pop(event_id))

    receiver = asyncio.ensure_future(receive())
    started = time.monotonic()
    try:
        for n, (record, event_id) in enumerate(zip(records, ids)):
            await pace(n, rate, started)
            sent_at[event_id] = time.time()
            await producer.send(topic_of[record.kind], record.value, key=record.key)
        await producer.flush()
        out.sent = len(records)
        out.published_rate = len(records) / (time.monotonic() - started)
        await asyncio.wait_for(receiver, timeout=60)
    except TimeoutError:
        pass  # reported as fewer latencies than events sent
    finally:
        receiver.cancel()
        await producer.stop()
        await consumer.stop()
    return out
