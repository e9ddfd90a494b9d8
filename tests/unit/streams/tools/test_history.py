"""`healthscore history`'s chart: drawn over time on the fixed 0-100 scale, and what it prints."""

from __future__ import annotations

import pytest
from rich.console import Console

from schemas.api import CustomerHistory, HistoryPoint
from streams.tools.history import bar, show_history, sparkline
from tests.factories import at


def point(day: float, score: float, tier: str = "watch") -> HistoryPoint:
    return HistoryPoint(at=at(day), score=score, tier=tier, cause="visit", model="default@2", overridden=False)


@pytest.mark.parametrize(("score", "block"), [(0, "▁"), (12.4, "▁"), (12.5, "▂"), (50, "▅"), (99.9, "█"), (100, "█")])
def test_a_bar_is_as_high_as_the_score_on_the_fixed_scale(score: float, block: str) -> None:
    assert bar(score) == block


def test_the_chart_is_drawn_over_time_with_the_score_in_force_in_each_column() -> None:
    # 90 at day 0, 10 from day 9 to day 10: the last tenth of the width is low, whatever the point count.
    points = [point(0, 90.0), *(point(0 + n / 100, 90.0) for n in range(1, 50)), point(9, 10.0), point(10, 10.0)]
    assert sparkline(points, width=10) == "████████▁▁"
    assert sparkline([point(0, 50.0)]) == "▅" and sparkline([]) == ""


def test_the_command_prints_the_chart_then_the_newest_points() -> None:
    history = CustomerHistory(customer_id="acme", since=None, until=None, points=[point(d, 40.0 + d) for d in range(5)])
    console = Console(record=True, width=120)
    show_history(console, history, rows=2)
    text = console.export_text()
    assert "acme: 5 points, 2025-01-01 12:00 to 2025-01-05 12:00, score 40.0 -> 44.0 (watch)" in text
    assert "(3 older points not shown; --rows 0 shows all)" in text
    assert "43.0" in text and "44.0" in text and "42.0  " not in text
