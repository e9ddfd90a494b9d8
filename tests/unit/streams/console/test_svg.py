"""The console's charts: where a score, a band, a day and a mark land, and that data cannot break out of the markup."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone

import pytest

from streams.console.svg import Frame, _round_up, history_chart, override_marks, tier_bar, tier_days_chart
from streams.snapshot.history import MS_PER_DAY, Point
from streams.snapshot.reader import Day
from streams.snapshot.recent_alerts import RecentAlert

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2025, 3, 1, tzinfo=timezone.utc)
END = START + timedelta(days=10)
THRESHOLDS = {"healthy": 70.0, "watch": 50.0, "at_risk": 30.0}


def point(day: float, score: float, tier: str = "watch", cause: str = "visit", overridden: bool = False) -> Point:
    return Point(round((START + timedelta(days=day)).timestamp() * 1000), score, tier, cause, overridden, "default@2")


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


@pytest.mark.parametrize(("score", "y"), [(100, 12), (80, 12 + 0.2 * 262), (50, 12 + 0.5 * 262), (0, 274), (130, 12)])
def test_a_score_lands_at_its_height_in_the_plot(score: float, y: float) -> None:
    frame = Frame(900, 300, 0.0, 10.0)  # plot: top 12, height 300 - 12 - 26 = 262
    assert frame.y(score) == pytest.approx(y)


def test_time_runs_left_to_right_across_the_plot() -> None:
    frame = Frame(900, 300, 100.0, 200.0)
    assert (frame.x(100.0), frame.x(150.0), frame.x(200.0)) == (44, 44 + 844 / 2, 900 - 12)
    assert frame.x(50.0) == 44 and frame.x(500.0) == 888  # clipped to the plot


def test_each_point_is_a_circle_at_its_time_and_score_and_the_line_steps_between_them() -> None:
    points = [point(1, 80.0, "healthy"), point(4, 45.0, "at_risk"), point(7, 25.0, "critical")]
    chart = parsed(history_chart(points, THRESHOLDS, START, END))
    circles = chart.findall(f"{SVG}circle")
    frame = Frame(900, 300, START.timestamp(), END.timestamp())
    assert [(float(c.get("cx")), float(c.get("cy"))) for c in circles] == [
        (frame.x(p.at / 1000), frame.y(p.score)) for p in points
    ]
    assert float(circles[0].get("cy")) == pytest.approx(12 + 0.2 * 262)  # 80 points
    assert [c.get("fill") for c in circles] == ["#2e7d32", "#e65100", "#c62828"]
    path = chart.find(f"{SVG}path[@class='line']").get("d")
    assert path.startswith(f"M{frame.x(points[0].at / 1000)} {frame.y(80.0)}")
    assert path.endswith(f"H{frame.x(END.timestamp())}")  # the last score holds until now


def test_points_outside_the_period_are_left_out() -> None:
    points = [point(-3, 60.0), point(2, 50.0), point(12, 40.0)]
    assert len(parsed(history_chart(points, THRESHOLDS, START, END)).findall(f"{SVG}circle")) == 1


@pytest.mark.parametrize("thresholds", [THRESHOLDS, {"healthy": 80.0, "watch": 60.0, "at_risk": 35.0}])
def test_the_tier_bands_lie_at_the_models_thresholds(thresholds: dict[str, float]) -> None:
    chart = parsed(history_chart([], thresholds, START, END))
    frame = Frame(900, 300, START.timestamp(), END.timestamp())
    bands = {r.get("class").split()[1]: r for r in chart.findall(f"{SVG}rect")}
    edges = {
        "band-healthy": (100, thresholds["healthy"]),
        "band-watch": (thresholds["healthy"], thresholds["watch"]),
        "band-at_risk": (thresholds["watch"], thresholds["at_risk"]),
        "band-critical": (thresholds["at_risk"], 0),
    }
    for name, (high, low) in edges.items():
        top = float(bands[name].get("y"))
        assert top == frame.y(high)
        assert top + float(bands[name].get("height")) == pytest.approx(frame.y(low))


def test_alerts_and_overrides_are_marked_where_they_happened() -> None:
    points = [
        point(1, 60.0),
        point(2, 50.0, cause="override", overridden=True),
        point(3, 55.0, cause="override", overridden=True),
        point(5, 40.0, cause="timer"),
    ]
    assert [(p.at, what) for p, what in override_marks(points)] == [
        (points[1].at, "override began"),
        (points[2].at, "override changed"),
        (points[3].at, "override ended"),
    ]
    alert = RecentAlert(
        customer_id="c",
        alert_id="a1",
        trigger="score_drop",
        severity="normal",
        detail="<script>alert(1)</script> dropped 20 points",
        tier="at_risk",
        score=40.0,
        raised_at=START + timedelta(days=5),
    )
    svg = history_chart(points, THRESHOLDS, START, END, [alert])
    chart = parsed(svg)
    assert len(chart.findall(f"{SVG}g[@class='override-mark']")) == 3
    mark = chart.find(f"{SVG}g[@class='alert-mark']")
    frame = Frame(900, 300, START.timestamp(), END.timestamp())
    assert float(mark.find(f"{SVG}line").get("x1")) == frame.x((START + timedelta(days=5)).timestamp())
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_a_model_name_or_cause_from_the_data_is_escaped() -> None:
    odd = Point(round(START.timestamp() * 1000) + MS_PER_DAY, 50.0, "watch", "visit", False, 'm"><script>@1')
    svg = history_chart([odd], THRESHOLDS, START, END)
    assert "<script>" not in svg and parsed(svg) is not None


def test_each_day_is_a_bar_of_its_tiers_stacked_to_its_total() -> None:
    first = date(2025, 3, 1)
    days = [
        Day(first, {"healthy": 60, "watch": 20, "at_risk": 15, "critical": 5}, 3),
        Day(first + timedelta(days=2), {"healthy": 10, "watch": 0, "at_risk": 0, "critical": 0}, 0),
    ]
    chart = parsed(tier_days_chart(days, first, first + timedelta(days=3)))
    groups = chart.findall(f"{SVG}g[@class='day']")
    assert len(groups) == 2  # the days without an entry stay empty
    frame = Frame(900, 220, 0.0, 4.0, ceiling=100.0)
    rects = groups[0].findall(f"{SVG}rect")
    assert float(rects[0].get("y")) + float(rects[0].get("height")) == pytest.approx(
        frame.y(0)
    )  # critical at the bottom
    assert float(rects[-1].get("y")) == pytest.approx(frame.y(100))  # healthy on top, at the day's total
    assert "alerts 3" in groups[0].find(f"{SVG}title").text


def test_today_bar_splits_its_width_by_tier() -> None:
    chart = parsed(tier_bar({"healthy": 3, "watch": 1, "at_risk": 0, "critical": 0}, width=400))
    widths = {r.get("class").split()[1]: float(r.get("width")) for r in chart.findall(f"{SVG}rect")}
    assert widths == {"tier-healthy": 300.0, "tier-watch": 100.0}


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (3, 5), (300, 500), (1200, 2000), (100_000, 100_000)])
def test_the_axis_top_is_a_round_number_at_or_above_the_tallest(value: int, top: int) -> None:
    assert _round_up(value) == top


def test_charts_carry_no_script_and_no_external_reference() -> None:
    svg = history_chart([point(1, 50.0)], THRESHOLDS, START, END) + tier_bar({"healthy": 1})
    assert "<script" not in svg and not re.search(r"(href|src)=\"https?:", svg)
