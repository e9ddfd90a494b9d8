"""The output producer batches per topic and partition, sends on flush, and keys a customer to one partition.

aiokafka's producer is replaced by a stand-in that counts batches and hands
out offsets; what reaches a real broker is tested in tests/integration.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from streams.exceptions import Fenced
from streams.kafka.partitions import partition_of
from streams.kafka.producer import OutputProducer
from streams.settings import Settings

PARTITIONS = 4
BATCH_RECORDS = 3  # records a stand-in batch holds


class StandInBatch:
    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None]] = []

    def append(self, key: bytes | None, value: bytes | None, timestamp: None) -> object | None:
        if len(self.records) == BATCH_RECORDS or len(value or b"") > 100:
            return None  # full, as aiokafka's builder says it
        self.records.append((key, value))
        return object()

    def close(self) -> None:
        pass

    def record_count(self) -> int:
        return len(self.records)


class StandInProducer:
    """aiokafka's producer as the output producer uses it: batches built, sent, acknowledged with an offset."""

    def __init__(self, **options: object) -> None:
        self.sent: list[tuple[str, int, list]] = []
        self.ends: dict[tuple[str, int], int] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))

    def create_batch(self) -> StandInBatch:
        return StandInBatch()

    async def send_batch(self, batch: StandInBatch, topic: str, partition: int) -> asyncio.Future:
        self.sent.append((topic, partition, batch.records))
        first = self.ends.get((topic, partition), 0)
        self.ends[(topic, partition)] = first + len(batch.records)
        acknowledged = asyncio.get_running_loop().create_future()
        acknowledged.set_result(SimpleNamespace(offset=first))
        return acknowledged


class Fence:
    def __init__(self) -> None:
        self.reason: str | None = None

    def lost(self) -> str | None:
        return self.reason

    def current(self, generation: int | None) -> bool:
        return True


@pytest.fixture
def stand_in(monkeypatch) -> list[StandInProducer]:
    made: list[StandInProducer] = []

    def build(**options: object) -> StandInProducer:
        made.append(StandInProducer(**options))
        return made[-1]

    monkeypatch.setattr("streams.kafka.producer.AIOKafkaProducer", build)
    return made


def test_records_wait_for_flush_and_a_customer_keeps_one_partition(stand_in) -> None:
    producer = OutputProducer(Settings())

    async def run() -> tuple[list, dict]:
        for n in range(2):
            await producer.queue("scores", b"cust-1", b"u%d" % n)
        await producer.queue("alerts", b"cust-1", b"a")
        before = list(stand_in[0].sent)
        return before, await producer.flush()

    before, last = asyncio.run(run())
    home = partition_of(b"cust-1", PARTITIONS)
    assert before == []  # nothing goes out before the flush
    assert stand_in[0].sent == [
        ("scores", home, [(b"cust-1", b"u0"), (b"cust-1", b"u1")]),
        ("alerts", home, [(b"cust-1", b"a")]),
    ]
    assert last == {("scores", home): 1, ("alerts", home): 0}  # the last offset written per destination


def test_a_full_batch_goes_out_at_once_and_records_without_a_key_go_round_the_partitions(stand_in) -> None:
    producer = OutputProducer(Settings())

    async def run() -> dict:
        for n in range(4):
            await producer.queue("scores", b"cust-1", b"%d" % n)
        for _ in range(PARTITIONS):
            await producer.queue("deadletter", None, b"letter")
        return await producer.flush()

    last = asyncio.run(run())
    home = partition_of(b"cust-1", PARTITIONS)
    assert [len(records) for topic, _, records in stand_in[0].sent if topic == "scores"] == [3, 1]
    assert last[("scores", home)] == 3
    assert sorted(p for topic, p, _ in stand_in[0].sent if topic == "deadletter") == list(range(PARTITIONS))


def test_a_fenced_producer_sends_nothing_and_discard_forgets_what_was_queued(stand_in) -> None:
    fence = Fence()
    producer = OutputProducer(Settings(), fence)

    async def run() -> dict:
        await producer.queue("scores", b"cust-1", b"u")
        fence.reason = "no heartbeat for 3.0 s"
        with pytest.raises(Fenced):
            await producer.flush()
        producer.discard()
        fence.reason = None
        return await producer.flush()

    assert asyncio.run(run()) == {}
    assert stand_in[0].sent == []


def test_a_record_larger_than_an_empty_batch_is_refused(stand_in) -> None:
    producer = OutputProducer(Settings())
    with pytest.raises(ValueError, match="does not fit a batch to scores"):
        asyncio.run(producer.queue("scores", b"cust-1", b"x" * 101))
