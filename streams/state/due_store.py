"""The inactivity timer's schedule kept in a local RocksDB database, so a worker's memory does not grow with its customers.

The in-memory DueQueue (scoring/schedule.py) costs about 213 B per customer
(benchmarks/timer_tick.py): 213 MB for a million, the one thing left that
grew with the customer base on a `rocksdb://` worker. This queue keeps the
same schedule on disk, under RocksDB's memory bounds (the table's write
buffer and block cache settings), as two kinds of keys:

- ``b"c" + customer`` -> the 8-byte time they are due, so rescheduling can
  remove their previous entry (no stale entries, unlike the heap);
- ``b"d" + time + customer`` -> empty, in time order, so popping the due
  customers is a range scan from the earliest time that can still be due.

The schedule is derived data (rebuilt from the state table after every
recovery), so it has no changelog: `reset` empties it for the rebuild.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import rocksdict
from faust.stores.rocksdb import RocksDBOptions

# Year 1, not 1970: an event may be dated before 1970 (any aware time is valid input), and a
# negative count has no 8-byte unsigned form. Year 1 to 9999 in microseconds fits in 59 bits.
EPOCH = datetime.min.replace(tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
CUSTOMER = b"c"
DUE = b"d"


def time_key(at: datetime) -> bytes:
    """Microseconds since the year 1 as 8 big-endian bytes: byte order is time order."""
    return ((at - EPOCH) // MICROSECOND).to_bytes(8, "big")


class RocksDueQueue:
    """DueQueue's interface (schedule, pop_due, len, reset) over a RocksDB database at `path`."""

    def __init__(self, path: Path, options: dict[str, int]) -> None:
        self.path = path
        self.options = RocksDBOptions(use_rocksdict=True, **options)
        self._db = self._open_empty()
        self._count = 0
        # Every entry is due at or after this key (entries before it were popped): the scan starts
        # here, not at the oldest tombstone the pops left behind, which RocksDB would walk over.
        self._floor: bytes | None = None

    def _open_empty(self) -> rocksdict.Rdict:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rocksdict.Rdict.destroy(str(self.path), self.options.as_options())
        return self.options.open(self.path)

    def __len__(self) -> int:
        return self._count

    def reset(self) -> None:
        """Forget every customer (before the schedule is rebuilt from the table)."""
        self._db.close()
        self._db = self._open_empty()
        self._count = 0
        self._floor = None

    def close(self) -> None:
        self._db.close()

    def schedule(self, customer_id: str, at: datetime | None) -> None:
        """Look at `customer_id` at `at`; None forgets them (time can no longer move their score)."""
        customer = customer_id.encode("utf-8")
        previous = self._db.get(CUSTOMER + customer)
        if previous is None and at is None:
            return
        batch = rocksdict.WriteBatch(raw_mode=True)
        if previous is not None:
            batch.delete(DUE + previous + customer)
        if at is None:
            batch.delete(CUSTOMER + customer)
            self._count -= 1
        else:
            when = time_key(at)
            batch.put(CUSTOMER + customer, when)
            batch.put(DUE + when + customer, b"")
            if previous is None:
                self._count += 1
            if self._floor is None or when < self._floor:
                self._floor = when
        self._db.write(batch)

    def pop_due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Remove and return the customers due at or before `now`, earliest first, at most `limit`."""
        if self._floor is None:
            return []
        until = time_key(now)
        out: list[str] = []
        batch = rocksdict.WriteBatch(raw_mode=True)
        entries = self._db.iter()
        entries.seek(DUE + self._floor)
        last = self._floor
        while entries.valid() and (limit is None or len(out) < limit):
            key = entries.key()
            if not key.startswith(DUE) or key[1:9] > until:
                break
            last = key[1:9]
            customer = key[9:]
            batch.delete(key)
            batch.delete(CUSTOMER + customer)
            out.append(customer.decode("utf-8"))
            entries.next()
        del entries  # an iterator pins the memtables and files it reads
        if out:
            self._db.write(batch)
            self._count -= len(out)
        # With the limit reached, more may be due at the last time popped; otherwise nothing is before `now`.
        reached = limit is not None and len(out) >= limit
        self._floor = last if reached else max(self._floor, until)
        return out
