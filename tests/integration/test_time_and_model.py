"""Time passing and model changes, through the real worker: the timer alone lowers a silent customer's
score and alerts; a new model file applies on restart without losing state."""

from __future__ import annotations

from pathlib import Path

from schemas.model_config import ScoringModel
from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from scoring.pipeline import step
from scoring.replay import replay
from streams.worker.model_file import load_model
from tests.factories import published, purchase, survey, visit
from tests.integration.workers import records


def test_the_timer_alone_lowers_a_silent_customers_score_and_alerts(deploy) -> None:
    run = deploy(HEALTHSCORE_TIMER_SECONDS="0.2")
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    quiet = [purchase("quiet", d, 80.0) for d in range(0, 31, 5)] + [visit("quiet", d) for d in range(0, 31, 3)]
    quiet.sort(key=lambda e: e.occurred_at)
    run.publish(records(topics, quiet))
    event_updates = run.read(run.settings.topic_scores, len(quiet))
    before = ScoreUpdate.model_validate_json(event_updates[-1].value)
    assert before.customer_id == "quiet" and before.tier == "healthy"

    # Another customer's event 70 days later moves the worker's event-time clock; nothing arrives for "quiet".
    run.publish(records(topics, [visit("beacon", 100)]))
    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(quiet) + 2)]
    timed = [u for u in updates if u.customer_id == "quiet" and u.cause == "timer"]
    assert timed, "the timer published nothing for the silent customer"
    assert timed[-1].event_id is None and timed[-1].score < before.score
    assert timed[-1].tier in ("at_risk", "critical")
    assert any(r.startswith("no purchase for 70 days, 14.0x the usual 5-day cycle") for r in timed[-1].reasons)

    alerts = [ChurnRiskAlert.model_validate_json(r.value) for r in run.read(run.settings.topic_alerts, 2)]
    quiet_alerts = {a.trigger: a for a in alerts if a.customer_id == "quiet"}
    assert {"tier_entry", "purchase_overdue"} <= set(quiet_alerts)
    assert all(a.event_id is None for a in quiet_alerts.values())  # raised by time, not by an event
    assert quiet_alerts["purchase_overdue"].detail == "purchase overdue: 14.0x the usual 5-day cycle"
    assert "healthscore_timer_rescored_customers_total" in run.metrics()


def test_a_new_model_file_applies_on_restart_and_state_survives(deploy, tmp_path: Path) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    first = [purchase("kim", 0, 50.0), visit("kim", 1), survey("kim", 2, "nps", 9)]
    run.publish(records(topics, first))
    old = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(first))]
    assert {u.model_version for u in old} == {"2"}

    model = tmp_path / "strict.toml"
    model.write_text('name = "strict"\nversion = "9"\n[weights]\nsatisfaction = 80\n')
    run.restart(HEALTHSCORE_MODEL_PATH=str(model))
    later = purchase("kim", 3, 20.0)
    run.publish(records(topics, [later]))
    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(first) + 1)]
    new = updates[-1]
    assert (new.model_name, new.model_version) == ("strict", "9")
    # State came back from the changelog: the previous score is the old worker's, and the new score is
    # what scoring computes from all four events with the new model.
    assert new.previous_score == old[-1].score
    by_id = {e.event_id: e for e in first}
    state = replay([by_id[u.event_id] for u in old], ScoringModel()).states["kim"]
    [expected] = published([step(state, later, load_model(model), later.occurred_at).update])
    assert new == expected
    assert new.dimensions[0].weight > old[-1].dimensions[0].weight  # satisfaction now weighs 80


def test_a_bad_model_file_stops_the_worker_at_start_up(deploy, tmp_path: Path) -> None:
    model = tmp_path / "bad.toml"
    model.write_text("[tiers]\nhealthy = 10\n")
    run = deploy(HEALTHSCORE_MODEL_PATH=str(model))
    assert run.process.wait(timeout=60) != 0
    assert f"{model}: invalid scoring model: tiers: Value error, thresholds must descend" in run.log.read_text()
