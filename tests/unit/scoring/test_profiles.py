"""Customer profiles: kept and carried, never scored alone; a renewal at risk raises a high-severity alert."""

from datetime import timedelta

from schemas.model_config import ScoringModel
from scoring.alerts import renewal_window_opens
from scoring.instants import from_us
from scoring.pipeline import next_review, rescore_if_changed, step
from scoring.replay import replay
from scoring.state import new_state
from tests.factories import T0, at, profile, purchase, visit
from tests.samples import RENEWAL, troubled

MODEL = ScoringModel()


def test_a_profile_alone_is_kept_but_not_scored() -> None:
    result = step(new_state("c"), profile("c", 0, plan="enterprise", renewal_date=RENEWAL), MODEL, at(0))
    assert result.update is None and not result.duplicate and not result.alerts
    assert result.state.profile.plan == "enterprise" and result.state.event_count == 0
    assert next_review(result.state, MODEL, at(0)) is None  # nothing for the timer to look at
    assert rescore_if_changed(result.state, MODEL, at(50)).update is None  # the timer does not score it either


def test_behaviour_after_a_profile_is_scored_and_carries_the_profile() -> None:
    run = replay([profile("c", 0, plan="self-serve", company_size="1-10"), purchase("c", 1), visit("c", 2)], MODEL)
    assert len(run.updates) == 2
    assert all(u.profile is not None and u.profile.plan == "self-serve" for u in run.updates)


def test_a_new_profile_rescores_a_known_customer_and_an_older_one_is_ignored() -> None:
    run = replay([purchase("c", 0), profile("c", 5, plan="pro"), profile("c", 3, plan="starter")], MODEL)
    assert [u.profile.plan if u.profile else None for u in run.updates] == [None, "pro", "pro"]
    assert run.states["c"].profile.plan == "pro"


def test_a_redelivered_profile_is_a_duplicate() -> None:
    first = profile("c", 0, plan="pro", event_id="p-1")
    run = replay([first, purchase("c", 1), first], MODEL)
    assert run.duplicates == 1


def test_a_renewal_within_the_window_while_critical_raises_one_high_severity_alert() -> None:
    run = replay(
        [
            profile("r", 0, plan="enterprise", contract_value=48000.0, renewal_date=RENEWAL),
            *troubled("r"),
            visit("r", 101),
        ],
        MODEL,
    )
    renewal = [a for a in run.alerts if a.trigger == "renewal_risk"]
    assert len(renewal) == 1
    assert renewal[0].severity == "high" and renewal[0].tier in ("at_risk", "critical")
    assert "renewal on" in renewal[0].detail and "48,000" in renewal[0].detail
    assert all(a.severity == "normal" for a in run.alerts if a.trigger != "renewal_risk")


def test_no_renewal_alert_far_from_the_date_or_for_a_healthy_customer() -> None:
    far = (T0 + timedelta(days=300)).date()
    assert not [
        a
        for a in replay([profile("f", 0, renewal_date=far), *troubled("f")], MODEL).alerts
        if a.trigger == "renewal_risk"
    ]
    healthy = [profile("h", 0, renewal_date=RENEWAL)] + [purchase("h", d) for d in range(0, 105, 7)]
    assert not [a for a in replay(healthy, MODEL).alerts if a.trigger == "renewal_risk"]


def test_a_new_renewal_date_can_alert_again() -> None:
    later = RENEWAL + timedelta(days=20)
    run = replay([profile("r", 0, renewal_date=RENEWAL), *troubled("r"), profile("r", 102, renewal_date=later)], MODEL)
    assert len([a for a in run.alerts if a.trigger == "renewal_risk"]) == 2


def test_the_timer_looks_again_when_the_renewal_window_opens() -> None:
    far = (T0 + timedelta(days=400)).date()
    run = replay([profile("t", 0, renewal_date=far), purchase("t", 0)], MODEL)
    state = run.states["t"]
    opens = renewal_window_opens(state, MODEL)
    assert from_us(opens) == at(400 - 60) - timedelta(hours=12)  # UTC midnight; T0 is at noon
    assert next_review(state, MODEL, at(300)) == from_us(opens)  # long settled, but the renewal check is due then
