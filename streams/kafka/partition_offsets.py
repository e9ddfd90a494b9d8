"""Where input partitions start and end, asked on a connection of the worker's own that never waits on a fetch.

A broker answers the requests of one connection in order. The worker's
consumer keeps a long-poll Fetch in flight on its connection (Faust's
fetch wait, 1.5 s), and an idle stream holds it for the whole wait: a
ListOffsets request sent by the same client waits behind it. Measured on the
local stack with an idle worker: 1.0 s for the partition ends, 1.5 s for
the starts, so the 2 s timer that samples lag and checks for stalled
partitions ran 2.5 s and Faust warned that it overlapped, every 4.5 s. Asked
here, on a client that fetches nothing, both take milliseconds.

Every call is bounded: while the broker does not answer, a sample is
skipped (None) rather than left waiting for the client's request timeout.
After a question goes unanswered the next ones are not asked for a few
seconds: one timer run asks up to three (the ends, then the starts twice),
and with the broker gone each would wait its full bound, the run 3 s against
its 2 s interval (measured: it overlapped on every run while the broker was
stopped).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

logger = logging.getLogger(__name__)

# Longest a sample waits for the broker; the timer asking runs every 2 s.
ANSWER_TIMEOUT_SECONDS = 1.0
# After an unanswered question, how long questions get no answer without being asked (about two timer runs).
SILENT_SECONDS = 5.0

Partition = TypeVar("Partition", bound=Hashable)  # a (topic, partition) tuple: Faust's TP, aiokafka's TopicPartition


class PartitionOffsets:
    """First and end offsets of partitions, from a client started on first use and closed with the worker."""

    def __init__(
        self,
        options: dict[str, Any],
        timeout: float = ANSWER_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._options = {**options, "group_id": None, "enable_auto_commit": False}
        self._timeout = timeout
        self._clock = clock
        self._client: AIOKafkaConsumer | None = None
        self._silent_until = -float("inf")  # no question is asked before this (monotonic seconds)

    async def ends(self, tps: Iterable[Partition]) -> dict[Partition, int] | None:
        """The offset after each partition's last record; None if the broker did not answer in time."""
        return await self._ask("end_offsets", tps)

    async def starts(self, tps: Iterable[Partition]) -> dict[Partition, int] | None:
        """Each partition's first offset still on the broker; None if the broker did not answer in time."""
        return await self._ask("beginning_offsets", tps)

    async def close(self) -> None:
        """Stop the client, if it was started; the next call would start another."""
        client, self._client = self._client, None
        if client is not None:
            await client.stop()

    async def _ask(self, method: str, tps: Iterable[Partition]) -> dict[Partition, int] | None:
        wanted = {TopicPartition(tp[0], tp[1]): tp for tp in tps}  # type: ignore[index]
        if not wanted:
            return {}
        if self._clock() < self._silent_until:
            return None
        try:
            client = self._client or await asyncio.wait_for(self._started(), self._timeout)
            offsets = await asyncio.wait_for(getattr(client, method)(list(wanted)), self._timeout)
        except Exception as exc:  # noqa: BLE001 - no answer now (a timeout, the broker gone); asked again next time
            logger.debug("%s not answered: %r", method, exc)
            self._silent_until = self._clock() + SILENT_SECONDS
            return None
        return {wanted[tp]: offset for tp, offset in offsets.items()}

    async def _started(self) -> AIOKafkaConsumer:
        client = AIOKafkaConsumer(**self._options)
        try:
            await client.start()
        except BaseException:
            await client.stop()
            raise
        self._client = client
        return client
