"""Day buckets: rolling event-time windows in constant space per customer.

A customer's recent activity is a short tuple of per-day counters covering
the last HORIZON_DAYS days of event time. A late event inside the horizon
lands in its own day's bucket; an older one only reaches lifetime totals.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime, timezone
from operator import attrgetter

from pydantic import BaseModel, ConfigDict

# Longest look-back any window needs: 90-day spend, and 60 days for the
# visit trend (last 30 against the 30 before).
HORIZON_DAYS = 90
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
SUM_DECIMALS = 6  # far below a cent or a millisecond, far above float rounding error


def day_of(at: datetime) -> int:
    """The UTC day number of an instant: buckets are whole UTC days."""
    return (at - EPOCH).days


class DayBucket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    day: int
    purchases: int = 0
    spend: float = 0.0
    visits: int = 0
    visit_seconds: float = 0.0
    tickets_opened: int = 0
    high_priority_opened: int = 0
    complaints: int = 0


def add_to_buckets(buckets: tuple[DayBucket, ...], day: int, newest_day: int, **counts: float) -> tuple[DayBucket, ...]:
    """Add `counts` to `day`'s bucket and drop buckets older than the horizon of `newest_day`.

    Buckets stay sorted by day, so the same events in any order give the same tuple.
    """
    oldest = newest_day - HORIZON_DAYS + 1
    kept = buckets[bisect_left(buckets, oldest, key=_day):]
    if not counts or day < oldest:
        return kept
    at = bisect_left(kept, day, key=_day)
    found = at < len(kept) and kept[at].day == day
    current = kept[at] if found else DayBucket(day=day)
    # Rounded like the lifetime totals, so late events summed in any order give the same bucket.
    sums = {k: round(getattr(current, k) + v, SUM_DECIMALS) for k, v in counts.items()}
    return (*kept[:at], current.model_copy(update=sums), *kept[at + found :])


# A C-level key: bisect calls it at every probe, and a busy customer has HORIZON_DAYS buckets.
_day = attrgetter("day")


def in_window(buckets: tuple[DayBucket, ...], now: datetime, days: int, skip_days: int = 0) -> list[DayBucket]:
    """Buckets of the `days` days ending `skip_days` before `now`'s day, inclusive of that day."""
    last = day_of(now) - skip_days
    # Buckets are sorted by day: the window is a slice.
    return list(buckets[bisect_right(buckets, last - days, key=_day) : bisect_right(buckets, last, key=_day)])


def total(buckets: list[DayBucket], field: str) -> float:
    # map with a C-level getter: the same values in the same order as a generator, so the same sum, faster.
    return sum(map(attrgetter(field), buckets))
