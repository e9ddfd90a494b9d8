"""Where a batch's results go: the output topics, through one batching producer, and the table's final states."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.kafka.producer import OutputProducer

# Room left for a record's headers and framing under the producer's request limit.
RECORD_OVERHEAD_BYTES = 1024


class StatesWriter(Protocol):
    """Where a batch's final states go (streams/state/stores.py StateWriter: the changelog, then the store)."""

    async def write(self, records: dict[bytes, bytes | None]) -> None: ...


@dataclass(frozen=True)
class TableWrites:
    """States written straight into a mapping: for tests and tools with a plain dict as the table."""

    table: MutableMapping[bytes, bytes]

    async def write(self, records: dict[bytes, bytes | None]) -> None:
        for key, value in records.items():
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value


class Flushable(Protocol):
    async def flush(self) -> Any: ...

    def discard(self) -> None: ...


class OutputTopic(Protocol):
    """Where records go; `send` queues one, and Outputs.flush sends every queued one and waits for the broker."""

    async def send(self, *, key: bytes | None, value: bytes | None) -> None: ...


@dataclass(frozen=True)
class ProducerTopic:
    """An output topic written straight through the worker's output producer (streams/kafka/producer.py).

    Faust's `Topic.send` wraps every record in its channel machinery (a
    FutureMessage, callbacks, sensors): profiled at 8% of the worker's main
    thread at 590 events/s, for nothing a batch needs. The producer's own
    `send` queues the record in aiokafka's batch (partitioned by key with
    murmur2, as Faust's would be) and returns the acknowledgement.
    """

    producer: OutputProducer
    name: str

    async def send(self, *, key: bytes | None, value: bytes | None) -> None:
        await self.producer.queue(self.name, key, value)


@dataclass
class Outputs:
    scores: OutputTopic
    alerts: OutputTopic
    deadletter: OutputTopic
    audit: OutputTopic | None = None  # where override changes are recorded
    producer: Flushable | None = None  # sends what the topics queued (None: they send at once)

    async def flush(self) -> None:
        """Send every record queued and return once the broker has acknowledged them all."""
        if self.producer is not None:
            await self.producer.flush()

    def discard(self) -> None:
        """Drop every record queued and not yet sent (a fenced worker's, streams/fencing.py)."""
        if self.producer is not None:
            self.producer.discard()


class OutputTooLarge(Exception):
    """An output record that the producer would refuse; the input record that caused it is dead-lettered."""
