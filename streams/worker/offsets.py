"""Per-partition offset continuity: a record the consumer skipped is fetched again, never lost.

Measured on the local broker: a worker restarted right after a SIGKILL, while
its dead predecessor is still a group member, sometimes has its Faust consumer
drop a run of fetched records (its fetch loop breaks off mid-batch when flow
control or the generation changes, after the client has already moved its
position past them). Nothing downstream notices: the records are never
processed, and their offsets never acked, so commits stall too. The scorer
therefore checks that each partition's offsets arrive without holes. On a
hole it discards the records after it (unprocessed and unacknowledged) and
seeks back, so they are fetched again in order.

A run dropped at the end of what a partition holds is followed by no later
record, so no hole is ever seen: the records would wait for the next event
on that partition, forever if none comes. While the stream is quiet the
scorer therefore also compares the consumer's read position with the next
offset to process (`behind`), and seeks back a partition read past it.

Every record beyond the hole seeks again: records the consumer had already
fetched keep arriving for a while after the first seek, and each moves the
consumer's read position forward again. The last seek wins once they are
through. A topic whose offsets have holes on the broker itself (transaction
markers of transactional producers, compaction) would stall here: input
topics must be written without transactions, or the check turned off
(HEALTHSCORE_OFFSET_CHECKS=false).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from streams.worker.record import PartitionKey

Verdict = Literal["process", "rewind", "hole", "seek"]


class ConsumerPosition(Protocol):
    """The consumer operations offset continuity needs (worker/faust_compat.py FaustConsumerPosition in the worker)."""

    def committed_offset(self, tp: Any) -> int | None: ...

    def assignment(self) -> set[Any]: ...

    async def earliest(self, tps: list[Any]) -> dict[Any, int]:
        """Each partition's first offset on the broker; a partition the broker did not answer for is left out."""
        ...

    async def fetch_committed(self, tps: list[Any]) -> dict[Any, int | None]: ...

    async def seek(self, tp: Any, offset: int) -> None: ...

    def release(self, messages: Sequence[Any]) -> None: ...


@dataclass
class OffsetGuard:
    """What to do with each input record, given the offsets already processed per partition."""

    expected: dict[Hashable, int] = field(default_factory=dict)
    reported: dict[Hashable, int] = field(default_factory=dict)  # per partition, the hole last reported
    holes: int = 0  # distinct holes found
    # Per partition, the first offset to process since the last reset, and the offset after the last
    # record whose batch was completed (outputs acknowledged, states stored): where to resume from.
    origin: dict[Hashable, int] = field(default_factory=dict)
    done: dict[Hashable, int] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget everything: after a rebalance the consumer starts again from committed offsets."""
        self.expected.clear()
        self.reported.clear()
        self.origin.clear()
        self.done.clear()

    def start(self, tp: Hashable, offset: int) -> None:
        """The partition's processing starts at `offset` (the group's commit, or its first offset on the broker)."""
        self.expected[tp] = self.origin[tp] = offset

    def completed(self, positions: Mapping[Hashable, int]) -> None:
        """Records before these offsets had their batch completed: a restart need not fetch them again."""
        for tp, offset in positions.items():
            self.done[tp] = max(offset, self.done.get(tp, offset))

    def backwards(self, positions: Mapping[Hashable, int]) -> dict[Hashable, int]:
        """The partitions whose offset here is below one already completed, each with the completed one."""
        return {tp: self.done[tp] for tp, offset in positions.items() if offset < self.done.get(tp, offset)}

    def resume_point(self, tp: Hashable) -> int | None:
        """Where a partition's processing must start again after the agent lost what it was doing, if known."""
        return self.done.get(tp, self.origin.get(tp))

    def admit(self, tp: Hashable, offset: int, committed: int | None, through: int | None = None) -> Verdict:
        """`process` the next record; seek back over a `hole` (first seen) or `seek` (seen before).

        `through` is the last offset a record stands for when it stands for
        several (an undecodable batch, streams/kafka/undecodable.py).

        An offset below the expected one means the partition went back (a topic
        recreated after broker data loss, an offset reset): its records are
        processed as they come, a `rewind`, and duplicates are caught by event id.
        A partition not `start`ed yet starts at `committed` (Continuity.anchor
        starts those with no commit before their first record comes here).
        """
        if tp not in self.expected:
            self.start(tp, offset if committed is None else committed)
        expected = self.expected[tp]
        if offset < expected:
            self.expected[tp] = (offset if through is None else through) + 1
            self.reported.pop(tp, None)
            self.done.pop(tp, None)  # what completed was of the partition's former offsets
            return "rewind"
        if offset > expected:
            if self.reported.get(tp) == expected:
                return "seek"
            self.reported[tp] = expected
            self.holes += 1
            return "hole"
        self.expected[tp] = (offset if through is None else through) + 1
        return "process"

    def behind(
        self, positions: Mapping[PartitionKey, int], start: Callable[[PartitionKey], int | None]
    ) -> dict[PartitionKey, int]:
        """Partitions the consumer has read past their next record to process, each with the offset to seek back to.

        Only meaningful while no record is on its way to the scorer: then a
        position past the next offset means fetched records that will never
        come. For a partition none of whose records arrived, the next offset is
        where the consumer started reading (`start`: its committed offset, or
        the partition's first when nothing was committed).
        """
        stalled: dict[PartitionKey, int] = {}
        for tp, position in positions.items():
            expected = self.expected.get(tp, start(tp))
            if expected is not None and position > expected:
                stalled[tp] = expected
        return stalled
