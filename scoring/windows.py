"""Day buckets: rolling event-time windows in bounded space per customer.

A customer's recent activity is a set of per-day counters covering the last
HORIZON_DAYS days of event time, kept as parallel lists sorted by day: a
late event inside the horizon lands in its own day's bucket, an older one
only reaches lifetime totals. Folding an event is a bisect and an add;
a window's total is a bisect and a slice sum, both in C, so neither walks
the buckets in Python. Amounts are whole micro-units (of the currency, of a
second), so totals are exact and the same in any order of addition.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import msgspec

# Longest look-back any window needs: 90-day spend, and 60 days for the
# visit trend (last 30 against the 30 before).
HORIZON_DAYS = 90
MICROS = 1_000_000  # micro-units per unit: money and durations are kept as whole millionths
COUNTERS = ("purchases", "spend", "visits", "visit_seconds", "tickets_opened", "high_priority_opened", "complaints")


def micros(amount: float) -> int:
    """An amount as whole millionths: sums of these are exact, where float sums depend on their order."""
    return round(amount * MICROS)


class Buckets(msgspec.Struct, array_like=True):
    """Per-day counters of the last HORIZON_DAYS days; `day[i]` is the UTC day of every counter's i-th entry."""

    day: list[int] = []
    purchases: list[int] = []
    spend: list[int] = []  # micro-units of the purchases' currency
    visits: list[int] = []
    visit_seconds: list[int] = []  # microseconds
    tickets_opened: list[int] = []
    high_priority_opened: list[int] = []
    complaints: list[int] = []

    def prune(self, newest_day: int) -> None:
        """Drop the days older than the horizon of `newest_day`."""
        oldest = newest_day - HORIZON_DAYS + 1
        if self.day and self.day[0] < oldest:
            cut = bisect_left(self.day, oldest)
            for name in ("day", *COUNTERS):
                del getattr(self, name)[:cut]

    def add(self, day: int, newest_day: int, counts: tuple[tuple[str, int], ...]) -> None:
        """Add `counts` to `day`'s bucket (if it is inside the horizon of `newest_day`), and prune."""
        self.prune(newest_day)
        if day < newest_day - HORIZON_DAYS + 1:
            return
        days = self.day
        at = bisect_left(days, day)
        if at == len(days) or days[at] != day:
            days.insert(at, day)
            for name in COUNTERS:
                getattr(self, name).insert(at, 0)
        for name, count in counts:
            getattr(self, name)[at] += count

    def total(self, counter: str, today: int, days: int, skip_days: int = 0) -> int:
        """The counter over the `days` days ending `skip_days` before `today`, that day included."""
        last = today - skip_days
        first = bisect_right(self.day, last - days)
        end = bisect_right(self.day, last)
        return sum(getattr(self, counter)[first:end]) if end > first else 0
