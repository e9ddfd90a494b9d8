"""Fencing: a worker that may have lost its group membership writes nothing until it has rejoined.

A worker stopped longer than its session timeout (a GC pause, a starved VM,
SIGSTOP) is evicted from the group, and another worker takes its partitions
over, restores their customers from the changelog and scores on. When the
stopped worker wakes it still holds, in memory, batches it had read and
states it had folded: written then, they would publish stale outputs and,
worse, put older states on the changelog after the new owner's, so that the
next restore forgets what the new owner scored. Without broker transactions
the worker fences itself: it asks, right before every write to the outside
(an output or changelog batch handed to the producer, a Redis flush), whether
it may still be the owner, and writes nothing while the answer is no.

It may not when the group coordinator refused it (its member id or
generation unknown), when a rebalance is under way (the coordinator asked
it to rejoin, or its generation is not the one its partitions were assigned
in: the group may already have given them to another worker, which restores
them from the changelog and must not be written after), or when no
heartbeat has been confirmed for longer than the session timeout, measured
on the monotonic clock: a worker that was stopped knows it at once on waking,
before any heartbeat could tell it. The fence lifts when it has rejoined and
its new assignment is in place; what it read before is dropped uncommitted,
and partitions it gets back are restored from the changelog, as any new
owner's are. The window left is a stop that lands between the check and the
producer handing the batch to the network: one event-loop turn.
"""

from __future__ import annotations

from typing import Protocol

from streams.exceptions import Fenced


class Fence(Protocol):
    """Whether this worker may write for the partitions it was assigned."""

    def lost(self) -> str | None:
        """None while it may; else why not, in words for the log."""
        ...

    def current(self, generation: int | None) -> bool:
        """Whether a record read in group `generation` belongs to the partitions' current assignment."""
        ...


class Unfenced:
    """A fence that never closes: for tools and tests that own what they write outright."""

    def lost(self) -> str | None:
        return None

    def current(self, generation: int | None) -> bool:
        return True


def ensure_member(fence: Fence) -> None:
    """Raise Fenced if this worker may no longer own its partitions."""
    reason = fence.lost()
    if reason is not None:
        raise Fenced(reason)
