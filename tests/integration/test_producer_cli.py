"""`healthscore produce FILE`: each line to its kind's topic, keyed by customer, scored by the worker."""

import os
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from schemas.events import EVENT_ADAPTER, ProfileEvent
from schemas.outputs import DeadLetter, ScoreUpdate
from tests.factories import profile, purchase, survey, visit
from tests.paths import ROOT


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


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


def test_shift_to_now_dates_the_events_up_to_now_and_sends_invalid_lines_as_they_are(deploy, tmp_path: Path) -> None:
    # The wall clock, and no allowance for the future at all: the newest event must land before now.
    run = deploy(HEALTHSCORE_CLOCK="wall", HEALTHSCORE_MAX_FUTURE_SECONDS="0")
    events = [purchase("gus", 0, 40.0), visit("gus", 30), survey("hal", 59.5, "nps", 9)]  # dated 2025
    naive = (
        b'{"kind": "visit", "event_id": "e-naive", "customer_id": "gus", "occurred_at": "2025-03-01T10:00:00", '
        b'"duration_seconds": 60}'
    )
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join([*(e.model_dump_json().encode() for e in events), naive]) + b"\n")
    env = {f"HEALTHSCORE_{k.upper()}": str(v) for k, v in run.settings.model_dump().items()}
    started = datetime.now(timezone.utc)
    result = run_cli("produce", str(path), "--shift-to-now", env=env)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert re.fullmatch(r"event times shifted by \d+ days, [\d:]+: the newest is just before now", first), first
    assert "published 4 events" in result.stdout

    sent = [r.value for r in run.read(run.settings.topic_visits, 2)]
    assert sent[1] == naive  # byte for byte: the worker dead-letters it as it would have
    (moved,) = [EVENT_ADAPTER.validate_json(v) for v in sent[:1]]
    by = moved.occurred_at - events[1].occurred_at
    assert started - timedelta(days=29.5, minutes=2) < moved.occurred_at < started  # the survey is the newest

    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, 3)]
    assert sorted(u.event_id for u in updates) == sorted(e.event_id for e in events)
    hal = next(u for u in updates if u.customer_id == "hal")
    assert timedelta(0) < hal.scored_at - (events[2].occurred_at + by) < timedelta(minutes=5)  # scored now: recent
    (letter,) = [DeadLetter.model_validate_json(r.value) for r in run.read(run.settings.topic_deadletter, 1)]
    assert letter.error == "validation"  # and nothing as future_timestamp
