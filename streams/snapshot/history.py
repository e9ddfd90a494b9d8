"""A customer's score history as Redis keeps it: one point per change, thinned to one per day as it ages.

A point is one short string, `<ms>|<score>|<tier>|<cause>|<overridden>|<model>`
(e.g. `1745440792810|36.9|at_risk|visit|0|default@2`): listpack-packed Redis
lists hold it in about its own length. Two lists per customer
(streams/snapshot/keys.py): the recent one keeps every change of the last
RECENT_DAYS days, at most MAX_RECENT_POINTS of them; a point that falls out
of it joins the daily one, where the day's latest point replaces the
earlier ones of its day. Both lists expire RETENTION after the customer's
newest point was written (`HEALTHSCORE_HISTORY_RETENTION_DAYS`).

The rule is applied twice: here, to the points a worker holds until its
next flush (so a Redis outage keeps a bounded backlog per customer), and by
the flush's script in Redis (streams/snapshot/writer.py), to what is stored.
A point is a change when its score, tier, model or override differs from the
point before; a ScoreUpdate that moved none of them adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from scoring.records import ScoreRecord

# Every change is kept this long; the chart of the last month shows each one.
RECENT_DAYS = 30
# A customer scored hundreds of times a day (a bot, a replay) still keeps a bounded list: its oldest
# changes are thinned to one per day before they are 30 days old. 24 a day for 30 days.
MAX_RECENT_POINTS = 720
MS_PER_DAY = 86_400_000
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Point(NamedTuple):
    """One point of a customer's history."""

    at: int  # scored_at, milliseconds since the epoch (UTC)
    score: float
    tier: str
    cause: str  # the event kind (purchase, visit, ticket, survey, profile), `timer` or `override`
    overridden: bool  # a manual override was in force
    model: str  # name@version

    @property
    def day(self) -> int:
        return self.at // MS_PER_DAY

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.at / 1000, tz=timezone.utc)

    def same_as(self, other: Point) -> bool:
        """Nothing a reader of the history would see changed between the two points."""
        return (self.score, self.tier, self.overridden, self.model) == (
            other.score,
            other.tier,
            other.overridden,
            other.model,
        )


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded down (exactly: a point is never later than its score)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def point_of(update: ScoreRecord, cause: str | None = None) -> Point:
    """The history point of a ScoreUpdate; `cause` names the event kind when an event caused it."""
    return Point(
        at=epoch_ms(update.scored_at),
        score=round(update.score, 1),
        tier=update.tier,
        cause=cause if update.cause == "event" and cause else update.cause,
        overridden=update.override is not None,
        model=f"{update.model_name}@{update.model_version}",
    )


def encode_point(point: Point) -> str:
    return f"{point.at}|{point.score:.1f}|{point.tier}|{point.cause}|{int(point.overridden)}|{point.model}"


def decode_point(text: str) -> Point:
    at, score, tier, cause, overridden, model = text.split("|", 5)
    return Point(int(at), float(score), tier, cause, overridden == "1", model)


def add_point(points: list[Point], point: Point) -> list[Point]:
    """`points` (oldest first) with `point` after them, unless it changes nothing or is older than the last."""
    if points and (point.at < points[-1].at or point.same_as(points[-1])):
        return points
    return [*points, point]


def thin(
    points: list[Point],
    max_recent: int = MAX_RECENT_POINTS,
    recent_days: int = RECENT_DAYS,
    retention_days: int | None = None,
) -> list[Point]:
    """Points (oldest first) as they are kept: every change of the recent window, one per day before, none too old.

    The window counts back from the newest point. Of the points older than
    it, or beyond the `max_recent` newest, each day keeps its latest one.
    """
    if not points:
        return points
    newest = points[-1].at
    recent_from = newest - recent_days * MS_PER_DAY
    oldest_kept = recent_from if retention_days is None else max(recent_from, newest - retention_days * MS_PER_DAY + 1)
    if points[0].at >= oldest_kept and len(points) <= max_recent:
        return points  # the usual case: a few points since the last flush
    first_recent = len(points)
    for index, point in enumerate(points):
        if point.at >= recent_from:
            first_recent = index
            break
    first_recent = max(first_recent, len(points) - max_recent)
    daily: dict[int, Point] = {}
    for point in points[:first_recent]:
        daily[point.day] = point  # in time order: the day's latest wins
    kept = [*daily.values(), *points[first_recent:]]
    if retention_days is not None:
        kept = [p for p in kept if p.at > newest - retention_days * MS_PER_DAY]
    return kept


def between(points: Iterable[Point], since: datetime | None, until: datetime | None) -> list[Point]:
    """The points from `since` to `until` (both included, either open), oldest first."""
    low = None if since is None else since.timestamp() * 1000
    high = None if until is None else until.timestamp() * 1000
    return sorted(
        (p for p in points if (low is None or p.at >= low) and (high is None or p.at <= high)), key=lambda p: p.at
    )
