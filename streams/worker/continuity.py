"""Offset continuity of the worker's input: every record processed once, in offset order, none skipped.

The rules are streams/worker/offsets.py's `OffsetGuard`; this is where they
meet the consumer: records that arrive after a hole are held and their
partition sought back, a restarted agent resumes after its last completed
batch, a partition read past records that never arrived is read again, and
a partition whose first record came later than its start is read from its
start (settled before any of its records is handled). With HEALTHSCORE_OFFSET_CHECKS=false (transactional input topics)
every record counts as the next, and only holding is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from streams.exceptions import OffsetWentBack
from streams.kafka.undecodable import UndecodableBatch
from streams.metrics import Metrics
from streams.worker.offsets import ConsumerPosition, OffsetGuard
from streams.worker.record import PartitionKey, Record

logger = logging.getLogger(__name__)
# Tail checks in a row without any record arriving before a partition read past its next record counts as stalled.
QUIET_CHECKS = 2


def first_offset(record: Record) -> int:
    """The first offset a record stands for: its own, or an undecodable batch's first (its own is the batch's last)."""
    return record.value.first if isinstance(record.value, UndecodableBatch) else record.offset


def first_offsets(records: Sequence[Record]) -> dict[Hashable, int]:
    """Per partition, the first offset of these records."""
    first: dict[Hashable, int] = {}
    for record in records:
        offset = first_offset(record)
        first[record.tp] = min(offset, first.get(record.tp, offset))
    return first


@dataclass
class Continuity:
    """Which input records are the next of their partition, and what to fetch again."""

    consumer: ConsumerPosition
    metrics: Metrics
    checks: bool = True  # HEALTHSCORE_OFFSET_CHECKS
    guard: OffsetGuard = field(default_factory=OffsetGuard)
    seeks: set[asyncio.Future[None]] = field(default_factory=set)  # seeks under way, kept from the GC
    quiet_checks: int = 0  # consecutive tail checks that saw no record arrive
    delivered_at_check: int = 0
    starts: int = 0  # times the agent started: after the first, it resumes from committed offsets

    def partitions_assigned(self) -> None:
        """After a rebalance the consumer starts again from committed offsets: forget what the checks knew."""
        self.guard.reset()

    def rebalancing(self) -> None:
        """A rebalance or changelog recovery holds records back on purpose: quiet checks start over after it."""
        self.quiet_checks = 0

    def hold(self, records: Sequence[Record]) -> None:
        """Keep records from ever being acknowledged, so their offsets are not committed and they are read again.

        Faust acknowledges a batch's records once the agent moves past it, by
        lowering each record's reference count; one more reference keeps it
        unacknowledged. A rebalance waits for every record under way to be
        acknowledged: held records are taken off that list (`release`), or a
        worker whose batch was fenced would wait on them, and so would its group.
        """
        for record in records:
            record.incref()
        self.consumer.release(records)

    async def resume(self) -> None:
        """Called each time the agent starts: after a restart, every assigned partition resumes from its commit.

        An agent that crashed (for any reason) left the records it had taken
        unprocessed; Faust would hand its replacement only the records after them.
        """
        self.starts += 1
        if self.starts == 1 or not self.checks:
            return
        for tp in self.consumer.assignment():
            resume = self.guard.resume_point(tp)
            if resume is None:
                resume = self.consumer.committed_offset(tp)
            if resume is not None:
                # Records fetched for the dead agent that still arrive are then holes: fetched again in order.
                self.guard.expected[tp] = resume
                self.guard.reported.pop(tp, None)
                await self.consumer.seek(tp, resume)
        logger.warning("scoring agent restarted: assigned partitions resume after their last completed batch")

    async def anchor(self, records: Sequence[Record]) -> None:
        """Settle where each partition with no commit starts, before any of its records is handled.

        Without a commit the consumer reads a partition from its first record;
        a first record that arrives later than that (seen: the first records
        of partitions published during the rebalance after a kill -9, never
        delivered) makes the ones before it a hole, fetched again. Settled
        afterwards, the group would answer with this worker's own first commit,
        past them, and they would be lost. Faust's copy of the commits can lag
        a rebalance, so the group's word decides. Raises if the broker does not
        say: the batch is then fetched again.
        """
        guard, consumer = self.guard, self.consumer
        new = {r.tp for r in records if r.tp not in guard.expected and consumer.committed_offset(r.tp) is None}
        if not self.checks or not new:
            return
        starts = await self._starts(new)
        for tp in new:
            if tp not in starts:
                raise LookupError(f"the broker did not say where {tp} starts")
            guard.start(tp, starts[tp])

    async def _starts(self, tps: Collection[Hashable]) -> dict[Hashable, int]:
        """Where each partition's processing starts: the group's committed offset, or else its first on the broker."""
        ordered = sorted(tps, key=str)
        starts = {
            tp: offset for tp, offset in (await self.consumer.fetch_committed(ordered)).items() if offset is not None
        }
        if never := [tp for tp in ordered if tp not in starts]:
            starts.update(await self.consumer.earliest(never))
        return starts

    def admit(self, record: Record) -> bool:
        """Whether `record` is the next of its partition (OffsetGuard.admit); if not, hold it and seek back."""
        if not self.checks:
            return True
        through = record.offset if isinstance(record.value, UndecodableBatch) else None
        committed = self.consumer.committed_offset(record.tp)
        verdict = self.guard.admit(record.tp, first_offset(record), committed, through)
        if verdict in ("hole", "seek"):
            self.hold([record])  # never acked from here: its offset must wait for the copy fetched again
            expected = self.guard.expected[record.tp]
            if verdict == "hole":
                self.metrics.offset_holes.inc()
                logger.warning(
                    "offset %d of %s arrived before %d..%d: fetching those again",
                    record.offset,
                    record.tp,
                    expected,
                    record.offset - 1,
                )
            # In the background: the consumer thread may be waiting for this very batch to finish.
            self.seeks.add(task := asyncio.ensure_future(self.consumer.seek(record.tp, expected)))
            task.add_done_callback(self.seeks.discard)
        elif verdict == "rewind":
            logger.warning(
                "offsets of %s went back to %d: topic recreated or offsets reset; processing on",
                record.tp,
                record.offset,
            )
        return verdict in ("process", "rewind")

    def expect_again(self, records: Sequence[Record]) -> None:
        """These records were dropped uncommitted: a later record of their partition is a hole, and they are fetched again.

        A partition whose start is not settled yet (`anchor`) is left so: its
        start is settled when its records come again.
        """
        expected = self.guard.expected
        for tp, offset in first_offsets(records).items():
            if tp in expected:
                expected[tp] = min(offset, expected[tp])

    async def rewind(self, records: Sequence[Record]) -> None:
        """Seek each partition of a failed batch back to its first record, so the batch is fetched again."""
        if not self.checks:
            return
        self.expect_again(records)  # a hole already pending before this batch is further back still: kept
        for tp, offset in first_offsets(records).items():
            await self.consumer.seek(tp, self.guard.expected.get(tp, offset))

    def forward(self, handled: Mapping[Hashable, int]) -> None:
        """Refuse a batch that would complete offsets below ones already completed (OffsetWentBack).

        Cannot happen while the checks hold (a partition that went back, a
        `rewind`, forgets what completed before): a batch that trips it is
        failed before it writes anything, loudly, and retried.
        """
        if backwards := self.guard.backwards(handled):
            raise OffsetWentBack(f"offsets {dict(handled)} go back past those completed, {backwards}")

    def completed(self, handled: Mapping[Hashable, int]) -> None:
        """Records before these offsets had their batch completed: a restart need not fetch them again."""
        self.guard.completed(handled)

    def done(self, tp: Hashable) -> int | None:
        """The offset after the last record of `tp` whose batch completed, if any did since the assignment."""
        return self.guard.done.get(tp)

    def unscored(self, read: Mapping[PartitionKey, int]) -> dict[PartitionKey, int]:
        """Per partition, the first record whose batch has not completed, from the consumer's `read` positions.

        Where the lag counts from: records fetched ahead and not yet scored are
        behind as much as records still on the broker.
        """
        if not self.checks:
            return dict(read)  # without offset checks nothing is tracked: the fetch position is all there is
        return {
            tp: next(p for p in (self.guard.resume_point(tp), position) if p is not None)
            for tp, position in read.items()
        }

    async def recover_tails(self, positions: Mapping[PartitionKey, int], delivered: int, busy: bool) -> int:
        """Seek back each partition read past records that never arrived (streams/worker/offsets.py); returns how many.

        Acts only after QUIET_CHECKS checks in a row in which no record came
        (`delivered` did not move) and no batch was running (`busy`): records
        still on their way would otherwise look lost.
        """
        quiet = delivered == self.delivered_at_check and not busy
        self.delivered_at_check = delivered
        self.quiet_checks = self.quiet_checks + 1 if quiet else 0
        if not self.checks or self.quiet_checks < QUIET_CHECKS:
            return 0
        consumer = self.consumer
        # Partitions none of whose records arrived and with nothing committed in Faust's copy: the consumer started at
        # the group's commit or, with none, at their first record. Seen on the local broker after a kill -9: a restarted
        # worker's consumer read every partition to its end while none of the records reached the agent, and waited
        # there forever.
        unknown = [tp for tp in positions if tp not in self.guard.expected and consumer.committed_offset(tp) is None]
        first = await self._starts(unknown) if unknown else {}
        stalled = self.guard.behind(positions, lambda tp: first.get(tp, consumer.committed_offset(tp)))
        for tp, expected in stalled.items():
            self.metrics.offset_holes.inc()
            logger.warning(
                "%s was read to offset %d but records from %d never arrived: fetching them again",
                tp,
                positions[tp],
                expected,
            )
            await consumer.seek(tp, expected)
        if stalled:
            self.quiet_checks = 0
        return len(stalled)
