"""One step of the service as a pure function: the outputs a worker publishes for an event."""

from schemas.model_config import ScoringModel
from scoring.pipeline import rescore, step
from scoring.replay import replay
from scoring.state import new_state
from tests.factories import at, purchase, survey, ticket, visit

MODEL = ScoringModel()


def test_each_step_publishes_a_score_update_naming_the_previous_score() -> None:
    first = step(new_state("c"), purchase("c", 0, 80.0, event_id="p1"), MODEL, at(0))
    second = step(first.state, visit("c", 1, event_id="v1"), MODEL, at(1))
    assert first.update.previous_score is None and first.update.cause == "event"
    assert second.update.previous_score == first.update.score
    assert second.update.previous_tier == first.update.tier
    assert second.update.event_id == "v1"
    assert second.state.last_score == second.update.score
    assert second.update.model_name == "default" and second.update.model_version == "1"


def test_a_duplicate_publishes_nothing_and_changes_nothing() -> None:
    first = step(new_state("c"), purchase("c", 0, event_id="p1"), MODEL, at(0))
    again = step(first.state, purchase("c", 0, event_id="p1"), MODEL, at(0))
    assert again.duplicate and again.update is None and again.alert is None
    assert again.state == first.state


def test_an_unhappy_customer_raises_one_alert_with_reasons() -> None:
    events = [
        purchase("c", 0, 60.0),
        visit("c", 1),
        ticket("c", 20, "T-1", priority="high", category="complaint"),
        survey("c", 21, "nps", 1),
        survey("c", 22, "csat", 1),
        ticket("c", 23, "T-2", priority="urgent", category="complaint"),
    ]
    result = replay(events, MODEL)
    assert len(result.updates) == len(events)
    # The CSAT of 1 after a detractor NPS tips the score under 50; the next complaint is no news.
    assert [(a.tier, a.trigger, a.event_id) for a in result.alerts] == [("at_risk", "tier_entry", events[4].event_id)]
    alert = result.alerts[0]
    assert alert.score == result.updates[4].score < 50 <= result.updates[3].score
    assert alert.previous_tier == "watch"
    assert alert.reasons[:2] == ["CSAT averages 1.0/5 over the last 1 survey", "latest NPS is 1 (detractor)"]


def test_rescore_without_an_event_reflects_time_passing() -> None:
    state = replay([purchase("c", d) for d in (0, 10, 20, 30)] + [visit("c", 30)], MODEL).states["c"]
    later = rescore(state, MODEL, at(150))
    assert later.update.cause == "timer" and later.update.event_id is None
    assert later.update.score < state.last_score
    assert later.alert is not None and later.alert.tier in ("at_risk", "critical")
