"""Which customers the inactivity timer must look at, at a cost that grows with those due.

A heap of (due time, customer) with lazy deletion: rescheduling a customer
pushes a new entry and the stale one is skipped when it surfaces. Popping
the due customers touches only them, never the whole customer base.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import Protocol


class Schedule(Protocol):
    """What the stream and the inactivity timer need of a schedule: DueQueue here, or streams/state/due_store.py on disk."""

    def __len__(self) -> int: ...

    def schedule(self, customer_id: str, at: datetime | None) -> None: ...

    def pop_due(self, now: datetime, limit: int | None = None) -> list[str]: ...

    def reset(self) -> None: ...


class DueQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._due: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._due)

    def reset(self) -> None:
        """Forget every customer (before the schedule is rebuilt from the table)."""
        self._heap = []
        self._due = {}

    def schedule(self, customer_id: str, at: datetime | None) -> None:
        """Look at `customer_id` at `at`; None forgets them (time can no longer move their score)."""
        if at is None:
            self._due.pop(customer_id, None)
            return
        self._due[customer_id] = at
        heapq.heappush(self._heap, (at, customer_id))

    def pop_next(self, until: datetime) -> tuple[datetime, str] | None:
        """Remove and return the earliest customer due at or before `until`, with the time they fell due."""
        while self._heap and self._heap[0][0] <= until:
            at, customer_id = heapq.heappop(self._heap)
            if self._due.get(customer_id) == at:
                del self._due[customer_id]
                return at, customer_id
        return None

    def pop_due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Remove and return the customers due at or before `now`, earliest first, at most `limit`."""
        out: list[str] = []
        while self._heap and self._heap[0][0] <= now and (limit is None or len(out) < limit):
            at, customer_id = heapq.heappop(self._heap)
            if self._due.get(customer_id) == at:  # otherwise rescheduled since: a stale entry
                del self._due[customer_id]
                out.append(customer_id)
        if len(self._heap) > 4 * len(self._due) + 1024:
            self._compact()
        return out

    def _compact(self) -> None:
        self._heap = [(at, cid) for cid, at in self._due.items()]
        heapq.heapify(self._heap)
