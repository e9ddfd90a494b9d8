"""`healthscore produce FILE`: each line to its kind's topic, keyed by customer, scored by the worker."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.outputs import ScoreUpdate
from tests.factories import purchase, survey, visit

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_producer_cli_routes_lines_by_kind_and_reports_what_it_skipped(deploy, tmp_path: Path) -> None:
    run = deploy()
    events = [purchase("dana", 0, 30.0), visit("dana", 1), survey("erin", 2, "nps", 9)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([*(e.model_dump_json() for e in events), "not json", '{"kind": "refund"}', ""]) + "\n")
    env = {**os.environ, **{f"HEALTHSCORE_{k.upper()}": str(v) for k, v in run.settings.model_dump().items()}}
    result = subprocess.run([sys.executable, "-m", "streams.cli", "produce", str(path)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{run.settings.topic_purchases}: 1" in result.stdout and f"{run.settings.topic_surveys}: 1" in result.stdout
    assert "published 3 events" in result.stdout
    assert "skipped line 4: not JSON" in result.stderr and "skipped line 5: no known 'kind'" in result.stderr

    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, 3)]
    assert sorted(u.event_id for u in updates) == sorted(e.event_id for e in events)
    assert {u.customer_id for u in updates} == {"dana", "erin"}
