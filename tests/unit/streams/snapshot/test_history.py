"""The score history's rule: every change of the last 30 days, one point per day before, nothing older than the retention."""

from __future__ import annotations

import msgspec
import pytest

from schemas.model_config import ScoringModel
from scoring.pipeline import rescore
from scoring.state import new_state
from streams.snapshot.history import (
    MS_PER_DAY,
    Point,
    add_point,
    between,
    decode_point,
    encode_point,
    point_of,
    thin,
)
from tests.factories import at

DAY0 = round(at(0).timestamp() * 1000)


def point(
    day: float, score: float = 50.0, tier: str = "watch", cause: str = "visit", overridden: bool = False
) -> Point:
    return Point(DAY0 + round(day * MS_PER_DAY), score, tier, cause, overridden, "default@2")


def test_a_point_is_one_short_line_and_reads_back_the_same() -> None:
    p = Point(1745440792810, 36.9, "at_risk", "visit", False, "enterprise|odd@3")
    assert encode_point(p) == "1745440792810|36.9|at_risk|visit|0|enterprise|odd@3"
    assert decode_point(encode_point(p)) == p


@pytest.mark.parametrize(
    ("cause", "given", "expected"),
    [("event", "purchase", "purchase"), ("timer", None, "timer"), ("override", "ticket", "override")],
)
def test_a_point_names_the_event_kind_that_caused_it_or_the_timer_or_the_override(cause, given, expected) -> None:
    update = msgspec.structs.replace(rescore(new_state("a"), ScoringModel(), at(3)).update, cause=cause)
    made = point_of(update, given)
    assert made.cause == expected and made.at == DAY0 + 3 * MS_PER_DAY and made.model == "default@2"
    assert made.overridden is False and made.tier == update.tier and made.score == round(update.score, 1)


def test_a_point_that_changes_nothing_a_reader_sees_is_not_added() -> None:
    points = add_point([], point(0, 50.0))
    assert add_point(points, point(1, 50.0, cause="timer")) == points  # same score, tier, model, override
    assert len(add_point(points, point(1, 50.1))) == 2
    assert len(add_point(points, point(1, 50.0, overridden=True))) == 2  # an override began
    assert add_point(points, point(-1, 20.0)) == points  # older than the newest kept: a retry
    assert len(add_point(points, point(0, 51.0))) == 2  # the same instant, another score: both kept


def test_points_older_than_thirty_days_are_thinned_to_the_days_latest() -> None:
    points = [point(d + h / 24, 40 + h) for d in range(40) for h in (1, 5, 9)]
    kept = thin(points)
    window = points[-1].at - 30 * MS_PER_DAY
    old, recent = [p for p in kept if p.at < window], [p for p in kept if p.at >= window]
    assert recent == [p for p in points if p.at >= window]  # every change
    # One per day, the day's latest (of a day the window cuts, the latest before the cut).
    assert old == [
        max((p for p in points if p.day == day and p.at < window), key=lambda p: p.at)
        for day in sorted({p.day for p in points if p.at < window})
    ]
    assert {p.score for p in old[:-1]} == {49.0} and kept[-1] == points[-1]
    assert kept == sorted(kept, key=lambda p: p.at)


def test_a_busy_customer_keeps_at_most_the_newest_changes_then_one_a_day() -> None:
    points = [point(d + m / 1440, 30 + m % 50) for d in range(3) for m in range(0, 1440, 2)]  # 720 a day
    kept = thin(points, max_recent=100)
    assert kept[-100:] == points[-100:]
    assert len(kept) == 100 + len({p.day for p in points[:-100]})  # plus one per UTC day before them


def test_nothing_older_than_the_retention_is_kept() -> None:
    points = [point(d) if d % 2 else point(d, 60.0) for d in range(100)]
    assert [p.day for p in thin(points, retention_days=10)] == [points[-1].day - n for n in range(9, -1, -1)]


def test_between_includes_both_ends_and_either_may_be_open() -> None:
    points = [point(d, 40.0 + d) for d in range(5)]
    assert between(points, at(1), at(3)) == points[1:4]
    assert between(points, None, at(0)) == points[:1] and between(points, at(4), None) == points[4:]


def test_a_point_is_never_later_than_its_score_so_a_chart_ending_now_shows_it() -> None:
    update = rescore(new_state("a"), ScoringModel(), at(0)).update
    late = msgspec.structs.replace(update, scored_at=update.scored_at.replace(microsecond=999_999))
    made = point_of(late)
    assert made.moment <= late.scored_at and made.at % 1000 == 999  # rounded down, exactly
