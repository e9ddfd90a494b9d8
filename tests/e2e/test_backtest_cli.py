"""`healthscore backtest` and `calibrate` as a user runs them, on the sample events (fast) rather than CDNOW."""

import json
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

SAMPLE = ROOT / "data" / "sample_events.jsonl"
# The sample's deliberately invalid lines: skipped and counted, as `preview` does and the worker dead-letters them.
SKIPPED = f"{SAMPLE}: 4 invalid lines skipped (the first, line "


def healthscore(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_backtest_prints_json_metrics_for_the_score_and_each_reference_and_draws_a_plot(tmp_path: Path) -> None:
    plot = tmp_path / "roc.png"
    run = healthscore(
        "backtest",
        "--dataset",
        str(SAMPLE),
        "--cutoff",
        "2025-02-28",
        "--holdout-end",
        "2025-04-30",
        "--json",
        "--plot",
        str(plot),
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert SKIPPED in run.stderr and report["skipped_lines"] == 4
    assert report["customers"] > 200 and 0 < report["churn_rate"] < 1
    assert 0.5 < report["auc"] <= 1.0
    assert set(report["references"]) == {"bgnbd_expected_purchases", "rfm_rank"}
    assert all(0 <= ref["auc"] <= 1 for ref in report["references"].values())
    assert set(report["churn_rate_by_tier"]) <= {"healthy", "watch", "at_risk", "critical"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibrate_writes_a_model_file_the_backtest_and_the_worker_accept(tmp_path: Path) -> None:
    out = tmp_path / "fitted.toml"
    run = healthscore(
        "calibrate",
        "--dataset",
        str(SAMPLE),
        "--label-cutoff",
        "2025-01-31",
        "--cutoff",
        "2025-02-28",
        "--name",
        "sample-fit",
        "--out",
        str(out),
    )
    assert run.returncode == 0, run.stderr
    assert "training AUC" in run.stdout and out.exists() and SKIPPED in run.stderr
    from streams.worker.model_file import load_model

    assert load_model(out).name == "sample-fit"
    scored = healthscore(
        "backtest",
        "--dataset",
        str(SAMPLE),
        "--cutoff",
        "2025-02-28",
        "--holdout-end",
        "2025-04-30",
        "--model",
        str(out),
        "--json",
    )
    assert json.loads(scored.stdout)["model"] == {"name": "sample-fit", "version": "2-calibrated"}
