"""Profiles through the real worker: carried in scores, never scored alone, and a renewal at risk alerts."""

from __future__ import annotations

from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from tests.factories import profile, purchase, survey, ticket, visit
from tests.samples import RENEWAL, SEGMENTED
from tests.waiting import until


def exposition(run) -> str:
    """The worker's metrics, or nothing while its web server is not up yet."""
    try:
        return run.metrics()
    except OSError:
        return ""


def test_profiles_are_carried_never_scored_alone_and_a_renewal_at_risk_raises_a_high_alert(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    events = [
        profile("lead", 0, plan="trial", lifecycle_stage="onboarding"),  # a profile and nothing else
        profile("acme", 0, plan="enterprise", company_size="201-1000", contract_value=48000.0, renewal_date=RENEWAL),
        purchase("acme", 0),
        purchase("acme", 10),
        ticket("acme", 95, category="complaint", priority="high"),
        survey("acme", 100, "nps", 1),
        visit("acme", 101),
    ]
    # Profiles first, as a CRM sync would do; across topics the worker's order is not the publisher's,
    # so the behaviour goes once both profiles are in.
    run.publish(
        [(run.settings.topic_for(e.kind), e.customer_id.encode(), e.model_dump_json().encode()) for e in events[:2]]
    )
    assert until(lambda: 'healthscore_events_total{kind="profile",outcome="stored"} 2.0' in exposition(run), timeout=30)
    run.publish(
        [(run.settings.topic_for(e.kind), e.customer_id.encode(), e.model_dump_json().encode()) for e in events[2:]]
    )

    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, 5)]
    assert {u.customer_id for u in updates} == {"acme"}  # the lead is not scored
    assert all(u.profile is not None and u.profile.plan == "enterprise" for u in updates)

    alerts = [ChurnRiskAlert.model_validate_json(r.value) for r in run.read(run.settings.topic_alerts, 1)]
    renewal = [a for a in alerts if a.trigger == "renewal_risk"]
    # Which event tips it depends on the interleaving of four topics; that it fires once does not.
    assert len(renewal) == 1 and renewal[0].severity == "high" and renewal[0].customer_id == "acme"
    assert renewal[0].tier in ("at_risk", "critical") and "48,000" in renewal[0].detail


def test_a_customer_moved_to_another_segment_is_rescored_with_its_model_at_once(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", HEALTHSCORE_MODEL_PATH=str(SEGMENTED))
    first = [profile("globex", 0, plan="pro"), purchase("globex", 1), visit("globex", 2)]
    run.publish(
        [(run.settings.topic_for(e.kind), e.customer_id.encode(), e.model_dump_json().encode()) for e in first[:1]]
    )
    assert until(lambda: 'healthscore_events_total{kind="profile",outcome="stored"} 1.0' in exposition(run), timeout=30)
    run.publish(
        [(run.settings.topic_for(e.kind), e.customer_id.encode(), e.model_dump_json().encode()) for e in first[1:]]
    )
    assert [ScoreUpdate.model_validate_json(r.value).model_name for r in run.read(run.settings.topic_scores, 2)] == [
        "self-serve",
        "self-serve",
    ]
    upgrade = profile("globex", 3, plan="enterprise", contract_value=60000.0)
    run.publish([(run.settings.topic_profiles, b"globex", upgrade.model_dump_json().encode())])
    last = ScoreUpdate.model_validate_json(run.read(run.settings.topic_scores, 3)[-1].value)
    assert (last.model_name, last.event_id, last.profile.plan) == ("enterprise", upgrade.event_id, "enterprise")
