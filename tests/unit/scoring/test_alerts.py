"""The alert policy: each trigger fires once per episode; hysteresis and cooldown stop floods."""

from datetime import timedelta

import pytest

from schemas.model_config import AlertPolicy, ScoringModel, TierThresholds
from scoring.alerts import alert_id, decide_alerts, risk_level
from scoring.model import Assessment, tier_for
from scoring.pipeline import rescore, step
from scoring.state import CustomerState, new_state
from tests.factories import at, purchase, survey, ticket, today, us, visit

TIERS = TierThresholds()  # watch >= 50, at_risk >= 30
MODEL = ScoringModel(alerts=AlertPolicy(hysteresis=5.0, cooldown=timedelta(days=7)))


@pytest.mark.parametrize(
    "score, current, level",
    [
        (60, None, None),
        (49.9, None, "at_risk"),
        (29.9, None, "critical"),
        (52, "at_risk", "at_risk"),  # inside the hysteresis band: still at risk
        (55, "at_risk", None),  # climbed past threshold + hysteresis: recovered
        (33, "critical", "critical"),
        (35, "critical", "at_risk"),
        (54.9, "critical", "at_risk"),
        (55, "critical", None),
    ],
)
def test_leaving_a_risk_level_takes_hysteresis_points(score: float, current: str | None, level: str | None) -> None:
    assert risk_level(score, current, TIERS, 5.0) == level


def assessed(points: float) -> Assessment:
    return Assessment(points, tier_for(points, TIERS), 1.0, (), [], [], [], [], [], None)


def run(scores_by_day: list[tuple[float, float]], trigger: str = "tier_entry") -> list[float]:
    """Feed (day, score) pairs through the policy; return the days on which `trigger` fired."""
    state, fired_on = CustomerState(customer_id="c", event_count=5), []
    for day, points in scores_by_day:
        memory, fired = decide_alerts(state, assessed(points), MODEL, us(day))
        fired_on += [day for f in fired if f.trigger == trigger]
        kept = [(d, p) for d, p in zip(state.history_day, state.history_score) if d != today(day)]
        state.history_day, state.history_score = [d for d, _ in kept] + [today(day)], [p for _, p in kept] + [points]
        state.alert = memory
    return fired_on


def test_entering_at_risk_alerts_once() -> None:
    assert run([(0, 80), (1, 45), (2, 44), (3, 40)]) == [1]


def test_hovering_at_the_threshold_alerts_once() -> None:
    assert run([(d * 0.1, 49.5 if d % 2 else 50.5) for d in range(40)]) == [0.1]


def test_escalation_to_critical_alerts_even_within_cooldown() -> None:
    assert run([(0, 45), (1, 25)]) == [0, 1]


def test_re_entry_within_cooldown_is_suppressed_but_after_it_alerts_again() -> None:
    assert run([(0, 45), (1, 80), (2, 45), (10, 80), (11, 45)]) == [0, 11]


def test_dropping_back_from_critical_to_at_risk_is_not_news() -> None:
    assert run([(0, 20), (1, 40), (2, 20)]) == [0]


def test_a_drop_of_n_points_within_d_days_alerts_even_above_the_risk_tiers() -> None:
    # Default: 20 points within 7 days. 90 -> 68 in three days is news; a slow slide is not.
    assert run([(-10, 90), (0, 90), (3, 68)], "score_drop") == [3]
    assert run([(d * 5, 90 - d * 4) for d in range(8)], "score_drop") == []


def test_a_new_customer_settling_is_not_a_drop() -> None:
    assert run([(0, 95), (1, 70)], "score_drop") == []


def triggers(steps) -> list[tuple[str, str]]:
    return [(a.trigger, a.detail) for s in steps for a in s.alerts]


def replay_rescore(events, times):
    """Apply events, then re-score at each of `times`; return every step."""
    state, steps = new_state("c"), []
    for event in events:
        result = step(state, event, MODEL, event.occurred_at)
        state = result.state
        steps.append(result)
    for day in times:
        result = rescore(state, MODEL, at(day))
        state = result.state
        steps.append(result)
    return steps


def test_purchase_overdue_alerts_once_per_last_purchase() -> None:
    buys = [purchase("c", d) for d in (0, 10, 20, 30)]
    steps = replay_rescore(buys, [50, 61, 62, 70])
    fired = [(f, d) for f, d in triggers(steps) if f == "purchase_overdue"]
    assert fired == [("purchase_overdue", "purchase overdue: 3.1x the usual 10-day cycle")]
    # A new purchase ends the episode; the next overdue spell alerts again.
    state = steps[-1].state
    state = step(state, purchase("c", 75), MODEL, at(75)).state
    later = rescore(state, MODEL, at(110))
    assert [a.detail for a in later.alerts if a.trigger == "purchase_overdue"] == [
        "purchase overdue: 3.5x the usual 10-day cycle"
    ]


def test_a_detractor_answer_alerts_once_per_answer() -> None:
    steps = replay_rescore(
        [visit("c", 0), survey("c", 1, "nps", 3), visit("c", 2), survey("c", 3, "nps", 9), survey("c", 4, "nps", 2)],
        [5],
    )
    assert [d for f, d in triggers(steps) if f == "detractor_nps"] == [
        "NPS answer of 3 (detractor)",
        "NPS answer of 2 (detractor)",
    ]


def test_an_unresolved_high_priority_ticket_alerts_once_after_n_days() -> None:
    steps = replay_rescore(
        [visit("c", 0), ticket("c", 0, "T-1", priority="urgent"), ticket("c", 1, "T-2")], [3, 7.5, 9, 20]
    )
    assert [d for f, d in triggers(steps) if f == "stale_ticket"] == [
        "1 high-priority ticket(s) unresolved, oldest for 8 days"
    ]


def test_a_brand_new_customer_is_not_alerted_on_the_first_event() -> None:
    first = step(new_state("c"), survey("c", 0, "nps", 0, event_id="first"), MODEL, at(0))
    assert first.update.tier in ("at_risk", "critical") and first.alerts == ()  # one event says too little
    second = step(first.state, survey("c", 1, "csat", 1), MODEL, at(1))
    # The detractor answer is alerted once there is enough to alert on; the level, reached at the first event
    # and kept since, is no tier entry at the second (a first purchase or survey is no reason for one).
    assert [a.trigger for a in second.alerts] == ["detractor_nps"]
    third = step(second.state, survey("c", 2, "nps", 0), MODEL, at(2))
    assert "tier_entry" not in {a.trigger for a in third.alerts} and third.update.tier == second.update.tier


def test_a_level_reached_before_alerting_starts_is_entered_only_when_it_rises() -> None:
    first = step(new_state("c"), visit("c", 0), MODEL, at(0))
    silent = rescore(first.state, MODEL, at(60))  # sixty days without a visit: at_risk, still one event
    assert silent.update.tier == "at_risk" and silent.alerts == ()
    bought = step(silent.state, purchase("c", 60, 5.0), MODEL, at(60))
    assert "tier_entry" not in {a.trigger for a in bought.alerts}


def test_every_alert_names_its_trigger_detail_and_reasons() -> None:
    steps = replay_rescore([purchase("c", 0), visit("c", 0), survey("c", 1, "nps", 1), survey("c", 2, "csat", 1)], [])
    alert = next(a for s in steps for a in s.alerts if a.trigger == "tier_entry")
    assert alert.detail.startswith("entered at_risk at score") and alert.reasons
    assert alert.reasons[0] == "latest NPS is 1 (detractor)"
    assert alert.segment == "at_risk" and alert.model_version == MODEL.version
    assert alert.changes == ["latest NPS is 1 (detractor) (new)"]


def test_alert_ids_are_stable_and_distinct() -> None:
    assert alert_id("c", "tier_entry", "e-1") == alert_id("c", "tier_entry", "e-1")
    assert (
        len(
            {alert_id("c", "tier_entry", "e-1"), alert_id("c", "score_drop", "e-1"), alert_id("d", "tier_entry", "e-1")}
        )
        == 3
    )
