"""`healthscore backtest --json`: the alert figures it reports, per trigger and for all alerts together."""

import json
from datetime import datetime, timezone

import pytest

from scoring.backtest import ALL_TRIGGERS, Split
from streams.tools.backtest import run_backtest
from streams.worker.model_file import load_model
from tests.samples import sample_events

FIGURES = {
    "count",
    "customers",
    "precision",
    "lift",
    "normalized_lift",
    "relative_risk",
    "recall",
    "per_1000_per_month",
}


def test_the_json_report_has_the_alert_figures_of_every_trigger_and_of_all_together() -> None:
    split = Split(datetime(2025, 3, 1, tzinfo=timezone.utc), datetime(2025, 5, 1, tzinfo=timezone.utc))
    report = json.loads(json.dumps(run_backtest(sample_events(), split, load_model(None), plot=None, show=False)))
    alerts = report["alerts"]
    assert report["alert_window_days"] == 90
    assert list(alerts) == [*ALL_TRIGGERS, "all"]
    assert all(set(figures) == FIGURES for figures in alerts.values())
    assert alerts["all"]["count"] == sum(alerts[t]["count"] for t in ALL_TRIGGERS) > 0
    every = alerts["all"]
    assert 0 < every["customers"] <= report["customers"] and 0 <= every["precision"] <= 1 and 0 <= every["recall"] <= 1
    base = report["churn_rate"]
    assert every["normalized_lift"] == pytest.approx((every["precision"] - base) / (1 - base), abs=1e-3)
