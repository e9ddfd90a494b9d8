"""One step of the service as a pure function: the outputs a worker publishes for an event or a tick."""

from schemas.model_config import ScoringModel
from scoring.pipeline import change_since, next_review, rescore, rescore_if_changed, step
from scoring.records import encode
from scoring.replay import replay, replay_with_timer
from scoring.state import copy_state, new_state
from tests.factories import at, purchase, survey, ticket, today, us, visit
from tests.samples import sample_events

MODEL = ScoringModel()


def test_each_step_publishes_a_score_update_naming_the_previous_score() -> None:
    first = step(new_state("c"), purchase("c", 0, 80.0, event_id="p1"), MODEL, at(0))
    second = step(first.state, visit("c", 1, event_id="v1"), MODEL, at(1))
    assert first.update.previous_score is None and first.update.cause == "event"
    assert second.update.previous_score == first.update.score
    assert second.update.previous_tier == first.update.tier
    assert second.update.event_id == "v1"
    assert second.state.last_score == second.update.score
    assert (second.update.model_name, second.update.model_version) == ("default", "2")


def test_a_duplicate_publishes_nothing_and_changes_nothing() -> None:
    first = step(new_state("c"), purchase("c", 0, event_id="p1"), MODEL, at(0))
    again = step(first.state, purchase("c", 0, event_id="p1"), MODEL, at(0))
    assert again.duplicate and again.update is None and again.alerts == ()
    assert again.state == first.state


def test_an_unhappy_customer_raises_alerts_with_reasons_and_the_change_explained() -> None:
    events = [
        purchase("c", 0, 60.0),
        visit("c", 1),
        ticket("c", 20, "T-1", priority="high", category="complaint"),
        survey("c", 21, "nps", 1),
        survey("c", 22, "csat", 1),
    ]
    result = replay(events, MODEL)
    assert len(result.updates) == len(events)
    assert [(a.trigger, a.event_id) for a in result.alerts] == [
        ("detractor_nps", events[3].event_id),
        ("tier_entry", events[4].event_id),
    ]
    assert result.updates[4].score < 50 <= result.updates[3].score
    assert result.updates[4].changes == ["CSAT averages 1.0/5 over the last 1 survey (new)"]
    # Nineteen days without a visit cost points by the time the ticket came in; unchanged signals are not blamed.
    assert result.updates[2].changes == [
        "1 high-priority ticket open, opened today; 1 complaint in the last 90 days (new)",
        "last visit 19 days ago (-3.2 points)",
    ]


def test_updates_carry_segment_clv_cycle_and_score_movement() -> None:
    events = sorted(
        [purchase("c", d, 100.0) for d in range(0, 100, 10)] + [visit("c", d) for d in range(0, 100, 2)],
        key=lambda e: e.occurred_at,
    )
    last = replay(events, MODEL).updates[-1]
    assert last.purchase_cycle_days == 10.0
    assert last.segment == "loyal"
    assert last.clv_12m == 3650.0  # not overdue: 365 / 10-day cycle x 100 per order
    assert last.change_7d is not None and last.change_30d is not None


def test_score_history_tells_the_movement_over_7_and_30_days() -> None:
    state = replay([purchase("c", d) for d in (0, 10, 20, 30)] + [visit("c", 30)], MODEL).states["c"]
    scored_before = state.last_score
    later = rescore(state, MODEL, at(45))
    assert later.update.change_7d == round(later.update.score - scored_before, 1)
    assert change_since(later.state, 10.0, today(45), 30) is None  # nothing remembered from 30 days before
    assert later.state.history_day[-1] == today(45) and later.state.history_score[-1] == later.update.score


def test_a_step_changes_the_state_it_is_given_and_a_copy_keeps_the_one_before() -> None:
    state = replay([purchase("c", 0), visit("c", 1)], MODEL).states["c"]
    kept = copy_state(state)
    result = step(state, visit("c", 2), MODEL, at(2))
    assert result.state is state and state.visit_count == 2
    assert kept.visit_count == 1 and kept.last_scored_at == us(1)


def test_rescore_without_an_event_reflects_time_passing() -> None:
    state = replay([purchase("c", d) for d in (0, 10, 20, 30)] + [visit("c", 30)], MODEL).states["c"]
    scored_before = state.last_score
    later = rescore(state, MODEL, at(150))
    assert later.update.cause == "timer" and later.update.event_id is None
    assert later.update.score < scored_before
    assert {a.trigger for a in later.alerts} >= {"tier_entry", "purchase_overdue"}


def test_a_timer_rescore_publishes_only_when_something_moved() -> None:
    state = replay([purchase("c", 0), visit("c", 0)], MODEL).states["c"]
    moved = rescore_if_changed(state, MODEL, at(40))
    assert moved.update is not None
    settled = rescore_if_changed(moved.state, MODEL, at(40))
    assert settled.update is None and settled.alerts == ()


def test_a_replay_publishing_only_alerts_raises_the_same_alerts_and_leaves_the_same_states() -> None:
    """What the backtest replays: only alerts are built, and nothing else about the run may differ."""
    customers = sorted({e.customer_id for e in sample_events()})[:100]
    events = sorted((e for e in sample_events() if e.customer_id in customers), key=lambda e: e.occurred_at)
    full = replay_with_timer(events, MODEL)
    alerts_only = replay_with_timer(events, MODEL, publish="alerts")
    assert full.updates and alerts_only.updates == []
    assert len(full.alerts) > 20
    assert [encode(a) for a in alerts_only.alerts] == [encode(a) for a in full.alerts]
    assert alerts_only.states == full.states


def test_a_timer_rescore_that_publishes_nothing_still_remembers_the_score() -> None:
    state = replay([purchase("c", 0), visit("c", 0)], MODEL).states["c"]
    quiet = rescore_if_changed(state, MODEL, at(40), publish="alerts")
    assert quiet.update is None
    assert (state.last_scored_at, state.history_day[-1]) == (us(40), today(40))


def test_customers_stop_being_reviewed_once_time_cannot_move_them() -> None:
    state = replay([purchase("c", 0), visit("c", 0)], MODEL).states["c"]
    assert next_review(state, MODEL, at(1)) == at(1) + MODEL.review.interval
    assert next_review(state, MODEL, at(400)) is None
