"""Manual overrides: shown in every update while active, kept through re-scores, ended by clear or expiry, audited."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from schemas.control import OverrideRequest
from schemas.model_config import ScoringModel
from scoring.pipeline import next_review, rescore, rescore_if_changed, step, step_override
from scoring.replay import replay
from scoring.state import copy_state
from tests.factories import at, purchase, visit

MODEL = ScoringModel()


def override(action: str, day: float, days: float = 14, request_id: str = "o-1", **fields) -> OverrideRequest:
    return OverrideRequest(
        request_id=request_id,
        customer_id="c",
        action=action,
        reason="QBR went well",
        author="maria@cs",
        requested_at=at(day),
        expires_at=at(day + days),
        **fields,
    )


def known():
    return replay([purchase("c", 0), visit("c", 1), purchase("c", 20)], MODEL).states["c"]


def test_a_pinned_score_shows_with_the_models_own_score_and_is_audited() -> None:
    state = known()
    result = step_override(state, override("pin_score", 21, score=85.0), MODEL, at(21))
    update = result.update
    assert (update.score, update.tier, update.cause, update.event_id) == (85.0, "healthy", "override", "o-1")
    assert update.computed_score is not None and update.computed_score != 85.0
    assert update.override.author == "maria@cs" and "pinned at 85.0 by maria@cs: QBR went well" in update.changes[0]
    assert [a.action for a in result.audits] == ["applied"]


def test_the_override_survives_new_events_and_ends_by_itself_at_its_expiry() -> None:
    pinned = step_override(known(), override("pin_tier", 21, days=10, tier="watch"), MODEL, at(21)).state
    later = step(pinned, visit("c", 25), MODEL, at(25))
    assert later.update.tier == "watch" and later.update.override is not None  # a recompute keeps it
    assert next_review(later.state, MODEL, at(25)) <= at(31)  # the timer looks at the expiry at the latest
    ended = rescore_if_changed(later.state, MODEL, at(31))
    assert ended.update is not None and ended.update.override is None and ended.update.computed_score is None
    assert ended.update.changes[0].startswith("manual override ended, expired")
    assert [(a.action, a.by) for a in ended.audits] == [("expired", "healthscore")]
    assert ended.state.override is None


def test_an_adjustment_is_bounded_and_clamped_to_the_scale() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 30"):
        override("adjust", 21, adjustment=45.0)
    nudged = step_override(known(), override("adjust", 21, adjustment=-30.0), MODEL, at(21)).update
    assert nudged.score == max(0.0, round(nudged.computed_score - 30.0, 1))


def test_a_new_override_replaces_the_old_and_clear_ends_it_each_with_audit_records() -> None:
    first = step_override(known(), override("pin_score", 21, score=90.0), MODEL, at(21)).state
    second = step_override(first, override("pin_score", 22, score=40.0, request_id="o-2"), MODEL, at(22))
    assert [a.action for a in second.audits] == ["replaced", "applied"] and second.update.score == 40.0
    clear = OverrideRequest(
        request_id="o-3", customer_id="c", action="clear", reason="wrong account", author="lee", requested_at=at(23)
    )
    without = copy_state(second.state)  # the same customer with no override, for the model's own score
    without.override = None
    cleared = step_override(second.state, clear, MODEL, at(23))
    assert [(a.action, a.override.request_id, a.by) for a in cleared.audits] == [("cleared", "o-2", "lee")]
    model_only = rescore(without, MODEL, at(23)).update
    assert cleared.update.override is None and cleared.update.score == model_only.score  # the model's score is back
    assert cleared.update.computed_score is None


def test_a_redelivered_request_changes_nothing() -> None:
    once = step_override(known(), override("pin_score", 21, score=85.0), MODEL, at(21))
    again = step_override(once.state, override("pin_score", 21, score=85.0), MODEL, at(21))
    assert again.duplicate and again.update is None and not again.audits


def test_requests_must_be_complete_and_must_end() -> None:
    with pytest.raises(ValidationError, match="pin_score takes exactly `score`"):
        override("pin_score", 21, tier="watch")
    with pytest.raises(ValidationError, match="expires_at after requested_at"):
        override("pin_tier", 21, days=-1, tier="watch")
    with pytest.raises(ValidationError, match="reason"):
        OverrideRequest(
            request_id="x",
            customer_id="c",
            action="pin_tier",
            tier="watch",
            reason="",
            author="a",
            requested_at=at(0),
            expires_at=at(0) + timedelta(days=1),
        )


def healthy():
    """A customer the model scores healthy, with history enough for alerts (the policy waits for min_events)."""
    state = replay([purchase("c", d) for d in (0, 10, 20, 30)] + [visit("c", d) for d in (5, 15, 25)], MODEL).states[
        "c"
    ]
    assert state.last_tier == "healthy"
    return state


@pytest.mark.parametrize(
    ("request_fields", "tier"),
    [
        ({"action": "pin_score", "score": 20.0}, "critical"),
        ({"action": "pin_tier", "tier": "critical"}, "critical"),
        ({"action": "adjust", "adjustment": -30.0}, None),  # where the adjusted score lands decides
        ({"action": "pin_tier", "tier": "at_risk"}, "at_risk"),
    ],
    ids=["pin-score", "pin-tier", "adjust", "pin-tier-at-risk"],
)
def test_an_override_into_a_risk_tier_raises_one_tier_entry_naming_that_tier(request_fields, tier) -> None:
    """Issue 28: a pinned score of 20 alerted, a pinned critical tier did not; one rule for both."""
    result = step_override(healthy(), override(day=31, **request_fields), MODEL, at(31))
    entries = [a for a in result.alerts if a.trigger == "tier_entry"]
    expected = tier or ("critical" if result.update.score < 30 else "at_risk" if result.update.score < 50 else None)
    assert [a.tier for a in entries] == ([expected] if expected else [])
    for alert in entries:
        assert alert.tier == result.update.tier and f"entered {alert.tier} " in alert.detail


def test_a_tier_pinned_out_of_risk_holds_the_level_whatever_the_score_falls_to() -> None:
    """A person who pins `watch` has judged the customer: a falling model score raises no tier_entry meanwhile."""
    state = step_override(healthy(), override("pin_tier", 31, days=200, tier="watch"), MODEL, at(31)).state
    later = rescore(state, MODEL, at(150))  # months of silence: the model alone would say critical
    assert later.update.computed_score < 30 and later.update.tier == "watch"
    assert not [a for a in later.alerts if a.trigger == "tier_entry"]


def test_every_tier_entry_names_the_tier_it_is_recorded_with() -> None:
    state = healthy()
    alerts = []
    for day, request in [
        (31, override("pin_tier", 31, days=5, tier="watch")),
        (40, None),
        (41, override("pin_score", 41, days=5, score=10.0, request_id="o-2")),
        (60, None),
    ]:
        result = step_override(state, request, MODEL, at(day)) if request else rescore(state, MODEL, at(day))
        state = result.state
        alerts += [a for a in result.alerts if a.trigger == "tier_entry"]
    assert alerts and all(f"entered {a.tier} " in a.detail for a in alerts)
