"""The worker's batch path, in order: fence, continuity, handling, checkpoint; and what happens when one fails.

A batch of input records goes through four parts, each in its own module:

1. the fence (streams/fencing.py): a worker that may have lost its
   partitions writes nothing, and records read in an earlier group
   generation are left to the partitions' current owner;
2. continuity (streams/worker/continuity.py): only the next record of each
   partition is handled; the others are held and fetched again;
3. handling (streams/worker/handling.py): each record decoded, then scored,
   applied or dead-lettered, into a Batch;
4. the checkpoint (streams/worker/checkpoint.py): the Batch stored in fixed steps.

Why no input can stop the worker: a failure while handling one record
dead-letters that record alone and the batch goes on. A failure of the
batch itself (the broker not acknowledging, a store write failing) keeps the
batch's records uncommitted, seeks their partitions back and handles them
again after a pause that grows while failures repeat. Faust acknowledges a
batch's records when the agent moves past them, even when it moves past them
with an exception: records of a batch that did not finish are therefore held
(Continuity.hold) so their offsets are never committed.

Why a batch may be dropped: a batch that finds the fence closed, before it
starts or at any write, is held uncommitted and its outputs are discarded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from schemas.model_config import Model
from scoring.pipeline import Step
from scoring.schedule import Schedule
from scoring.state import CustomerState
from streams.exceptions import Fenced
from streams.fencing import Fence, Unfenced
from streams.kafka.codecs import decode_state
from streams.metrics import Metrics
from streams.worker.checkpoint import Checkpoint, Snapshots
from streams.worker.continuity import Continuity
from streams.worker.handling import Batch, Handler
from streams.worker.outputs import Outputs
from streams.worker.record import PartitionKey, Record

logger = logging.getLogger(__name__)
# Pause before a failed batch is handled again, doubling while failures repeat: a broker that is
# down is not hammered, and a fault that heals (a broker back) costs at most this long.
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0


@dataclass
class Scorer:
    """Runs each batch of the agent, and each unit of work of the timer, through the parts above."""

    handler: Handler
    continuity: Continuity
    checkpoint: Checkpoint
    fence: Fence = field(default_factory=Unfenced)
    # The agent and the timer both read, publish and write states; one at a time, or a timer
    # could store a state it read before a batch's write and so erase that batch's events.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    delivered: int = 0  # input records handed to the scorer so far
    failures: int = 0  # batches failed in a row; sets the pause before the next try
    fenced: str | None = None  # why the fence closed, while it is closed (logged once per closing)

    @property
    def model(self) -> Model:
        return self.handler.model

    @property
    def table(self) -> Mapping[bytes, bytes]:
        """The state table, read-only: the checkpoint writes it."""
        return self.handler.table

    @property
    def outputs(self) -> Outputs:
        return self.handler.outputs

    @property
    def metrics(self) -> Metrics:
        return self.handler.metrics

    @property
    def snapshots(self) -> Snapshots:
        return self.checkpoint.redis

    @property
    def due(self) -> Schedule:
        """The timer's schedule: who is looked at next, and when."""
        return self.checkpoint.due

    def now(self) -> datetime | None:
        """The timer's `now`: the wall clock, or in event-time mode the watermark of the partitions still being read
        (streams/worker/watermark.py; None before any event)."""
        if self.handler.config.clock == "wall":
            return datetime.now(timezone.utc)
        return self.handler.event_time.now(time.monotonic())

    def state(self, key: bytes) -> CustomerState | None:
        """The customer's stored state, if any."""
        raw = self.handler.table.get(key)
        return decode_state(raw) if raw else None

    async def handle(self, records: Sequence[Record]) -> None:
        """Handle a batch; if it fails, keep its records uncommitted and fetch them again after a pause.

        Never raises but for cancellation, so the agent never crashes on its input.
        """
        reason = self.fence.lost()
        if reason is not None:
            self.drop(records, reason)
            return
        stale = [r for r in records if not self.fence.current(r.generation_id)]
        if stale:  # read before the group's last rebalance: the partitions' current owner handles them
            self.continuity.hold(stale)
            records = [r for r in records if self.fence.current(r.generation_id)]
        try:
            await self.handle_batch(records)
        except Fenced as fenced:
            self.drop(records, str(fenced))
        except asyncio.CancelledError:
            self.continuity.hold(records)  # stopped mid-batch: the next owner handles these records
            raise
        except Exception:  # noqa: BLE001 - whatever failed, the batch is fetched again and retried
            await self._retry_later(records)
        else:
            self.failures = 0
            if self.fenced is not None:
                logger.warning("this worker may write again: it rejoined its group (fenced because %s)", self.fenced)
                self.fenced = None

    async def handle_batch(self, records: Sequence[Record]) -> None:
        """Handle a batch of input records in order; returns once its checkpoint is stored (raises if not)."""
        self.delivered += len(records)
        handled: dict[Hashable, int]  # per partition, the offset after the last record handled
        async with self.lock:
            await self.continuity.anchor(records)
            self.metrics.batch_size.observe(len(records))
            batch, handled = Batch(), {}
            for record, decoded in zip(records, self.handler.decode(records), strict=True):
                if self.continuity.admit(record):
                    await self.handler.handle(record, decoded, batch)
                    handled[record.tp] = record.offset + 1
            await self.checkpoint.commit(batch, handled)

    @asynccontextmanager
    async def work(self) -> AsyncIterator[Batch]:
        """One unit of the timer's work, exclusive with batches: stored by the checkpoint when the block ends.

        Raises Fenced, and runs nothing, when the fence is closed. If the block
        or the checkpoint fails, whatever it queued is discarded.
        """
        async with self.lock:
            reason = self.fence.lost()
            if reason is not None:
                raise Fenced(reason)
            batch = Batch()
            try:
                yield batch
                await self.checkpoint.commit(batch, {})
            except BaseException:
                self.outputs.discard()
                raise

    async def publish(self, key: bytes, result: Step, batch: Batch) -> None:
        """Send a step's outputs and keep its state for the batch (Handler.publish), for the timer."""
        await self.handler.publish(key, result, batch)

    def drop(self, records: Sequence[Record], reason: str) -> None:
        """Fenced: hold the batch uncommitted, discard what it queued, and expect its records again if they return.

        No seek: the rebalance that follows seeks every partition to its
        committed offset; if none follows, the next record of each partition
        reveals the hole and the offset checks fetch these again.
        """
        self.continuity.hold(records)
        self.outputs.discard()
        self.continuity.expect_again(records)
        self.metrics.fenced_batches.inc()
        if self.fenced is None:
            logger.warning(
                "this worker may have lost its partitions (%s): it writes nothing until it has rejoined; "
                "%d records dropped uncommitted",
                reason,
                len(records),
            )
        self.fenced = reason

    async def _retry_later(self, records: Sequence[Record]) -> None:
        self.continuity.hold(records)
        self.failures += 1
        self.metrics.batch_failures.inc()
        pause = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** (self.failures - 1))
        # Only called from handle()'s `except` block, so the batch's exception is the current one (hence the noqa).
        logger.exception(  # noqa: LOG004
            "a batch of %d records failed (%d in a row): fetching them again in %.1f s",
            len(records),
            self.failures,
            pause,
        )
        await self.continuity.rewind(records)
        await asyncio.sleep(pause)

    async def recover_tails(self, positions: Mapping[PartitionKey, int]) -> int:
        """Seek back partitions read past records that never arrived (Continuity.recover_tails); how many."""
        return await self.continuity.recover_tails(positions, self.delivered, busy=self.lock.locked())
