"""Instants as whole microseconds since 1970-01-01 UTC: exact, compact in stored state, cheap to compare.

Events carry timezone-aware datetimes; the fold and the scorer work on
integers, which subtract and divide several times faster than datetimes and
take a few bytes in MessagePack. Conversion is exact both ways.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
US_PER_SECOND = 1_000_000
US_PER_HOUR = 3600 * US_PER_SECOND
US_PER_DAY = 86_400 * US_PER_SECOND


# The last instant converted: a step converts its event's time four times over (the clock, the fold, the
# score, the review), the same datetime object each time, and each conversion asks its zone for the offset.
_last: list[Any] = [None, 0]


def to_us(at: datetime) -> int:
    if at is _last[0]:
        cached: int = _last[1]
        return cached
    us = (at - EPOCH) // MICROSECOND
    _last[0], _last[1] = at, us  # holding the object keeps its id from being reused by another
    return us


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def day_of(at: datetime) -> int:
    """The UTC day number of an instant: day buckets and the score history are whole UTC days."""
    return (at - EPOCH).days


def day_date(day: int) -> date:
    return (EPOCH + timedelta(days=day)).date()


def days(later: int, earlier: int) -> float:
    """Days from `earlier` to `later` (microseconds), as seconds / 86,400: the arithmetic of timedelta.total_seconds()."""
    return (later - earlier) / US_PER_SECOND / 86400.0


def days_since(later: int, earlier: int) -> float:
    """Days from `earlier` to `later` (microseconds), never negative."""
    return max(0.0, days(later, earlier))


def hours(later: int, earlier: int) -> float:
    return (later - earlier) / US_PER_SECOND / 3600.0
