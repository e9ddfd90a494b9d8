"""The Kafka transport: Faust's aiokafka driver with the worker consumer's fetch wait as a setting.

Faust builds the worker's consumer with `fetch_max_wait_ms=1500`, hard-coded.
A Kafka broker answers a fetch as soon as records arrive (long polling), so
on Apache Kafka the wait only bounds an idle poll and costs no latency. The
local broker (Tansu) answers only when the wait is over: measured here at
100 events/s, publish-to-ScoreUpdate latency was p50 458 ms / p99 814 ms
with Faust's 1,500 ms and p50 37 ms / p99 72 ms with 10 ms. The local
stack still keeps Faust's wait: with 10 ms, a worker taking over a stopped
worker's partitions on Tansu was left with holes it never filled in 4 of
10 runs of tests/integration/test_rebalance.py (0 of 9 with 1,500 ms).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TransportT

logger = logging.getLogger(__name__)

FAUST_FETCH_MAX_WAIT_MS = 1500
SHUTDOWN_TIMEOUT_SECONDS = 30.0


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher: set before the thread starts it.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def wait_empty(self) -> None:
        """Faust's wait for records under way to be acknowledged, at most the app's shutdown timeout.

        Faust waits with no bound (on stop and when partitions are revoked). A
        record it gives up on is not committed: the next owner handles it again.
        """
        try:
            await asyncio.wait_for(super().wait_empty(), self.app.shutdown_timeout)
        except asyncio.TimeoutError:
            logger.warning("records under way were not acknowledged within %.0f s; going on without them: they were "
                           "not committed and will be handled again", self.app.shutdown_timeout)  # fmt: skip


class _Transport(driver.Transport):
    Consumer = _Consumer


class App(faust.App):
    """A faust.App whose consumer waits at most `fetch_max_wait_ms` per fetch and `shutdown_timeout` for records under way."""

    fetch_max_wait_ms: int = FAUST_FETCH_MAX_WAIT_MS
    shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS

    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)
