"""The inactivity timer: re-score customers that time alone may have moved, and only those.

Every tick pops the customers due from a DueQueue (scoring/schedule.py),
re-scores each still owned by this worker, publishes a ScoreUpdate when the
score or tier moved, raises alerts, and schedules the next look. The queue is
rebuilt from the local table after each recovery, once per rebalance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kafka.partitioner.default import murmur2

from scoring.pipeline import next_review, rescore_if_changed
from scoring.schedule import DueQueue
from streams.agents import Batch, Scorer
from streams.codecs import decode_state

logger = logging.getLogger(__name__)

# Bounds one tick's work so a backlog of due customers never stalls the event loop.
MAX_PER_TICK = 5000


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives `key`, as producers and the changelog do."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass
class InactivityTimer:
    scorer: Scorer
    partitions: int
    owned: Callable[[int], bool]  # is this partition active on this worker?
    touched: int = field(default=0)  # customers re-scored so far, for metrics and tests

    def rebuild(self) -> None:
        """Schedule every customer of the local table (after recovery); O(customers) once per rebalance."""
        queue = DueQueue()
        for _key, raw in self.scorer.table.items():
            state = decode_state(raw)
            if state.last_scored_at is not None:
                queue.schedule(state.customer_id, next_review(state, self.scorer.model, state.last_scored_at))
        self.scorer.due = queue
        logger.info("inactivity timer: %d customers scheduled after recovery", len(queue))

    async def tick(self, now: datetime) -> int:
        """Re-score the customers due at `now`; returns how many were touched.

        Like a batch of events: outputs are acknowledged before the states are stored.
        """
        async with self.scorer.lock:
            queue = self.scorer.due
            due = queue.pop_due(now, MAX_PER_TICK)
            batch = Batch()
            for customer_id in due:
                key = customer_id.encode("utf-8")
                if not self.owned(partition_of(key, self.partitions)):
                    continue  # its partition moved to another worker, which has it scheduled
                raw = self.scorer.table.get(key)
                if raw is None:
                    continue
                result = rescore_if_changed(decode_state(raw), self.scorer.model, now)
                await self.scorer.publish(key, result, batch)
                queue.schedule(customer_id, next_review(result.state, self.scorer.model, now))
            await self.scorer.commit(batch)
        self.touched += len(due)
        self.scorer.metrics.timer_rescored.inc(len(due))
        return len(due)
