"""The inactivity timer: re-score customers that time alone may have moved, and only those.

Every tick pops the customers due from a DueQueue (scoring/schedule.py),
re-scores each still owned by this worker, publishes a ScoreUpdate when the
score or tier moved, raises alerts, and schedules the next look. The queue is
rebuilt from the local table after each recovery, once per rebalance.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from scoring.instants import from_us
from scoring.pipeline import next_review, rescore_if_changed
from scoring.records import decode_update
from scoring.schedule import Schedule
from streams.exceptions import Fenced
from streams.kafka.partitions import partition_of
from streams.state.stores import key_chunks
from streams.worker.handling import Batch
from streams.worker.scorer import Scorer

logger = logging.getLogger(__name__)

# Bounds one tick's work so a backlog of due customers never stalls the event loop.
MAX_PER_TICK = 5000
# Customers scheduled between yields to the event loop while the schedule is rebuilt (about 0.2 s of work).
REBUILD_CHUNK = 2000


@dataclass
class InactivityTimer:
    scorer: Scorer
    partitions: int
    owned: Callable[[int], bool]  # is this partition active on this worker?
    touched: int = field(default=0)  # customers re-scored so far, for metrics and tests
    rebuilding: asyncio.Task[int] | None = field(default=None, repr=False)

    def start_rebuild(self) -> asyncio.Task[int]:
        """Rebuild the schedule in the background (after each recovery), replacing a rebuild still running."""
        if self.rebuilding is not None:
            self.rebuilding.cancel()
        # Emptied now: the stream schedules into it from here on, before the task starts, and a tick
        # still under way schedules the customers it re-scored into it too.
        self.scorer.due.reset()
        self.rebuilding = asyncio.ensure_future(self.rebuild(self.scorer.due))
        return self.rebuilding

    async def rebuild(self, queue: Schedule) -> int:
        """Schedule every customer of the local table into `queue`, a chunk at a time; returns how many are in it.

        Also offers Redis again the last update of every customer whose
        state was stored while Redis was failing (Checkpoint.commit).

        O(customers) once per rebalance: decoding a million states took 85 s
        here, and done at once it held up the worker's recovery, and so all
        scoring, for that long. Chunked, events are scored meanwhile. Each
        state is read when its chunk comes, so it is never older than what
        the stream or the timer scheduled from; customers written since the
        rebuild began are rescheduled from their newest state, as they would be anyway.
        """
        scorer = self.scorer
        for chunk in key_chunks(scorer.table, REBUILD_CHUNK):
            for key in chunk:
                state = scorer.state(key)
                if state is None:
                    continue  # erased since
                if state.unconfirmed_update and self.owned(partition_of(key, self.partitions)):
                    # Stored while Redis was failing: its snapshot may never have arrived (Checkpoint.commit).
                    scorer.snapshots.offer(decode_update(state.unconfirmed_update), state.unconfirmed_update)
                if state.last_scored_at is not None:
                    queue.schedule(state.customer_id, next_review(state, scorer.model, from_us(state.last_scored_at)))
            await asyncio.sleep(0)  # let the stream and the web server run
        logger.info("inactivity timer: %d customers scheduled after recovery", len(queue))
        return len(queue)

    async def tick(self, now: datetime) -> int:
        """Re-score the customers due at `now`; returns how many were touched.

        Like a batch of events, through the checkpoint: outputs acknowledged
        before states are stored. A tick that fails part-way (a fenced worker,
        a broker that does not acknowledge) stores nothing, and every customer
        it took from the queue is due again at `now`, so the next tick of their
        owner looks again. Never raises but for cancellation: a timer that
        raised would stop the worker (mode crashes the service of a failed task).
        """
        due: list[str] = []
        try:
            async with self.scorer.work() as batch:
                due = self.scorer.due.pop_due(now, MAX_PER_TICK)
                await self._rescore(due, now, batch)
        except Fenced:
            self._again(due, now)
            return 0  # their owner, or this worker once it has rejoined, looks at them
        except Exception:
            self._again(due, now)
            logger.exception("inactivity timer: a tick failed; its %d customers are due again", len(due))
            return 0
        except asyncio.CancelledError:
            self._again(due, now)
            raise
        self.touched += len(due)
        self.scorer.metrics.timer_rescored.inc(len(due))
        return len(due)

    def _again(self, due: list[str], now: datetime) -> None:
        for customer_id in due:
            self.scorer.due.schedule(customer_id, now)

    async def _rescore(self, due: list[str], now: datetime, batch: Batch) -> None:
        """Re-score each customer of `due` this worker owns into `batch`, with their next look."""
        model = self.scorer.model
        for customer_id in due:
            key = customer_id.encode("utf-8")
            if not self.owned(partition_of(key, self.partitions)):
                continue  # its partition moved to another worker, which has it scheduled
            state = self.scorer.state(key)
            if state is None:
                continue
            result = rescore_if_changed(state, model, now)
            await self.scorer.publish(key, result, batch)
            batch.reviews[customer_id] = next_review(result.state, model, now)
