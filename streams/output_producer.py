"""The worker's output producer: scores, alerts, dead letters, audit records and state changelog records, batched.

A producer of its own, beside the one Faust writes the state changelog with.
On the local broker the changelog needs one record per batch (Tansu reports a
partition's end as the first offset of its last batch + 1, so a multi-record
batch would cut a restore short), and the app's producer is set that way
(HEALTHSCORE_PRODUCER_MAX_BATCH_BYTES=1). Outputs need no such thing: here
they go in batches of up to HEALTHSCORE_OUTPUT_BATCH_BYTES, one request per
partition for each worker batch, where one record per request cost the
worker a fifth of its time and the broker most of its CPU.

Records are partitioned by key with murmur2, as Faust's producer and
kafka-python producers do, so a customer's outputs keep one partition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from aiokafka import AIOKafkaProducer

from streams.connections import kafka_options
from streams.settings import Settings

logger = logging.getLogger(__name__)


class OutputProducer:
    """An aiokafka producer started on first use and stopped (flushed) with the worker."""

    def __init__(self, settings: Settings) -> None:
        self._options: dict[str, Any] = {
            **kafka_options(settings),
            "client_id": f"{settings.app_id}-outputs",
            "acks": "all",
            "max_batch_size": settings.output_batch_bytes,
            "max_request_size": settings.output_max_request_bytes,
            "request_timeout_ms": 30_000,
        }
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    @property
    def max_request_size(self) -> int:
        return self._options["max_request_size"]

    async def _started(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                producer = AIOKafkaProducer(**self._options)
                await producer.start()
                self._producer = producer
        return self._producer

    async def send(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None) -> Awaitable[Any]:
        """Queue one record; returns once it is queued, with the broker's acknowledgement (RecordMetadata) to await."""
        producer = self._producer or await self._started()
        return await producer.send(topic, value=value, key=key, partition=partition)

    async def stop(self) -> None:
        """Send what is queued, then close; a worker stopping calls this after its last batch."""
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()
