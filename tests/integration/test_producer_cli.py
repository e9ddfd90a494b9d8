"""`healthscore produce FILE`: each line to its kind's topic, keyed by customer, scored by the worker."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from schemas.events import ProfileEvent
from schemas.outputs import ScoreUpdate
from tests.factories import profile, purchase, survey, visit
from tests.paths import ROOT


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.tools.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_the_producer_cli_routes_lines_by_kind_and_reports_what_it_skipped(deploy, tmp_path: Path) -> None:
    run = deploy()
    events = [purchase("dana", 0, 30.0), visit("dana", 1), survey("erin", 2, "nps", 9)]
    fay = profile("fay", 2, plan="pro")  # a profile alone is stored, not scored
    path = tmp_path / "events.jsonl"
    lines = [*(e.model_dump_json() for e in [*events, fay]), "not json", '{"kind": "refund"}', ""]
    path.write_text("\n".join(lines) + "\n")
    env = {f"HEALTHSCORE_{k.upper()}": str(v) for k, v in run.settings.model_dump().items()}
    result = run_cli("produce", str(path), env=env)
    assert result.returncode == 0, result.stderr
    for topic in (run.settings.topic_purchases, run.settings.topic_surveys, run.settings.topic_profiles):
        assert f"{topic}: 1" in result.stdout
    assert "published 4 events" in result.stdout
    assert "skipped line 5: not JSON" in result.stderr and "skipped line 6: no known 'kind'" in result.stderr

    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, 3)]
    assert sorted(u.event_id for u in updates) == sorted(e.event_id for e in events)
    assert {u.customer_id for u in updates} == {"dana", "erin"}
    (record,) = run.read(run.settings.topic_profiles, 1)
    assert record.key == b"fay" and ProfileEvent.model_validate_json(record.value) == fay


def test_the_producer_logs_warnings_only_unless_asked_with_v(stack, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(purchase("quiet", 0).model_dump_json() + "\n")
    env = {"HEALTHSCORE_BROKER_URL": stack.broker_url}
    topic = f"quiet-{uuid.uuid4().hex[:8]}"

    quiet = run_cli("produce", str(path), "--topic", topic, env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.splitlines() == [f"{topic}: 1", "published 1 events"]
    assert re.search(r"^publishing: 1/1 \(100%\), .* done$", quiet.stderr, re.MULTILINE), quiet.stderr  # progress
    assert not re.search(r" (INFO|DEBUG) ", quiet.stderr), quiet.stderr

    verbose = run_cli("-v", "produce", str(path), "--topic", topic, env=env)
    assert verbose.returncode == 0, verbose.stderr
    assert re.search(r" INFO kafka\.", verbose.stderr), verbose.stderr
    assert " DEBUG " not in verbose.stderr
