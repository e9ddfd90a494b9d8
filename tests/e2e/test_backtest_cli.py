"""`healthscore backtest` and `calibrate` as a user runs them, on the sample events (fast) rather than CDNOW."""

import json
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def good_events(tmp_path: Path) -> Path:
    """The sample file minus its deliberately invalid lines (the backtest refuses a bad log)."""
    from pydantic import ValidationError

    from schemas.events import EVENT_ADAPTER

    lines = []
    for line in (ROOT / "data" / "sample_events.jsonl").read_text().splitlines():
        try:
            EVENT_ADAPTER.validate_json(line)
            lines.append(line)
        except ValidationError:
            pass
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def healthscore(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.tools.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_backtest_prints_json_metrics_for_the_score_and_each_reference_and_draws_a_plot(tmp_path: Path) -> None:
    events, plot = good_events(tmp_path), tmp_path / "roc.png"
    run = healthscore("backtest", "--dataset", str(events), "--cutoff", "2025-02-28", "--holdout-end", "2025-04-30",
                      "--json", "--plot", str(plot))  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["customers"] > 200 and 0 < report["churn_rate"] < 1
    assert 0.5 < report["auc"] <= 1.0
    assert set(report["references"]) == {"bgnbd_expected_purchases", "rfm_rank"}
    assert all(0 <= ref["auc"] <= 1 for ref in report["references"].values())
    assert set(report["churn_rate_by_tier"]) <= {"healthy", "watch", "at_risk", "critical"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibrate_writes_a_model_file_the_backtest_and_the_worker_accept(tmp_path: Path) -> None:
    events, out = good_events(tmp_path), tmp_path / "fitted.toml"
    run = healthscore("calibrate", "--dataset", str(events), "--label-cutoff", "2025-01-31", "--cutoff", "2025-02-28",
                      "--name", "sample-fit", "--out", str(out))  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "training AUC" in run.stdout and out.exists()
    from streams.worker.model_file import load_model

    assert load_model(out).name == "sample-fit"
    scored = healthscore("backtest", "--dataset", str(events), "--cutoff", "2025-02-28", "--holdout-end",
                         "2025-04-30", "--model", str(out), "--json")  # fmt: skip
    assert json.loads(scored.stdout)["model"] == {"name": "sample-fit", "version": "2-calibrated"}
