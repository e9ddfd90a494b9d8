"""The weighted model: score range, tiers, renormalised weights, contributions and reasons."""

import pytest

from schemas.model_config import Priors, ScoringModel, TierThresholds, Weights
from scoring.model import score, tier_for
from scoring.signals import expected_cycle_days
from scoring.state import apply_event, new_state
from tests.factories import at, purchase, survey, ticket, visit

MODEL = ScoringModel()


def fold(*events):
    state = new_state("c")
    for event in events:
        state, _ = apply_event(state, event)
    return state


def engaged_customer():
    events = [purchase("c", d, 120.0) for d in range(0, 90, 15)]
    events += [visit("c", d) for d in range(0, 90, 3)]
    events += [survey("c", 80, "nps", 10), survey("c", 85, "csat", 5)]
    return fold(*events)


@pytest.mark.parametrize(
    "points, tier",
    [
        (100, "healthy"),
        (70, "healthy"),
        (69.9, "watch"),
        (50, "watch"),
        (49.9, "at_risk"),
        (30, "at_risk"),
        (29.9, "critical"),
        (0, "critical"),
    ],
)
def test_tiers_follow_the_default_thresholds(points: float, tier: str) -> None:
    assert tier_for(points, TierThresholds()) == tier


def test_an_engaged_customer_is_healthy_with_full_confidence() -> None:
    result = score(engaged_customer(), MODEL, at(90))
    assert result.tier == "healthy"
    assert result.score >= 85
    assert result.confidence == 1.0
    assert [d.name for d in result.dimensions] == ["satisfaction", "loyalty", "activity", "financial"]
    assert sum(d.contribution for d in result.dimensions) == pytest.approx(result.score, abs=0.1)
    assert {d.weight for d in result.dimensions} == {0.3, 0.25, 0.2}


def test_the_same_state_and_time_give_the_same_score() -> None:
    state = engaged_customer()
    assert score(state, MODEL, at(120)) == score(state, MODEL, at(120))


def test_time_without_events_lowers_the_score() -> None:
    state = engaged_customer()
    assert score(state, MODEL, at(200)).score < score(state, MODEL, at(90)).score


def test_a_dimension_nothing_is_known_of_counts_at_its_prior_not_as_zero_and_not_by_reweighting() -> None:
    only_surveys = fold(survey("c", 0, "nps", 10), survey("c", 1, "csat", 5))
    result = score(only_surveys, MODEL, at(1))
    # A perfect survey record (satisfaction 1.0, 30% of the model), the other 70% at the typical customer's 0.6.
    assert result.score == 72.0 and result.confidence == 0.3
    assert [(d.name, d.value, d.weight, d.contribution) for d in result.dimensions] == [
        ("satisfaction", 1.0, 0.3, 30.0),
        ("loyalty", None, 0.25, 15.0),
        ("activity", None, 0.2, 12.0),
        ("financial", None, 0.25, 15.0),
    ]
    assert sum(d.contribution for d in result.dimensions) == result.score


def test_the_priors_come_from_the_model_file() -> None:
    state = fold(visit("c", 0))
    low = MODEL.model_copy(update={"priors": Priors(satisfaction=0.1, loyalty=0.1, activity=0.1, financial=0.1)})
    assert score(state, low, at(0)).score < score(state, MODEL, at(0)).score


def test_customers_known_by_different_signals_each_get_their_own_weights_whatever_was_scored_before() -> None:
    # A model keeps the weights of each set of known signals once worked out (KnownSet); a customer must get
    # the weights of their own set, whichever customers the same model scored before them.
    customers = [
        fold(survey("c", 0, "nps", 3)),
        fold(visit("c", 0), visit("c", 5)),
        engaged_customer(),
        fold(purchase("c", 0, 40.0), ticket("c", 2, priority="high")),
        fold(survey("c", 0, "nps", 10)),
    ]
    warm = ScoringModel()
    in_turn = [score(state, warm, at(30)) for state in customers * 2]
    alone = [score(state, ScoringModel(), at(30)) for state in customers]  # each with a model of its own
    assert in_turn == alone * 2
    assert len({(r.confidence, tuple(d.weight for d in r.dimensions)) for r in alone}) >= 4


def test_weights_change_the_score() -> None:
    state = fold(survey("c", 0, "nps", 10), visit("c", -60))
    satisfied = score(state, ScoringModel(weights=Weights(satisfaction=90, loyalty=0, activity=10, financial=0)), at(0))
    active = score(state, ScoringModel(weights=Weights(satisfaction=10, loyalty=0, activity=90, financial=0)), at(0))
    assert satisfied.score > active.score


def test_an_overdue_buyer_is_told_by_how_much() -> None:
    state = fold(*(purchase("c", d) for d in (0, 30, 60, 90)))
    result = score(state, MODEL, at(184))
    assert "no purchase for 94 days, 3.1x the usual 30-day cycle" in result.reasons


def test_ticket_load_and_detractors_are_named_with_numbers() -> None:
    state = fold(
        purchase("c", 0),
        ticket("c", 1, "T-1", priority="high", category="complaint"),
        ticket("c", 2, "T-2", priority="urgent"),
        survey("c", 3, "nps", 3),
    )
    result = score(state, MODEL, at(11))
    assert result.reasons[0] == "latest NPS is 3 (detractor)"
    assert "2 high-priority tickets open, oldest open for 10 days; 1 complaint in the last 90 days" in result.reasons


def test_a_healthy_customer_gets_strengths_as_reasons() -> None:
    result = score(engaged_customer(), MODEL, at(90))
    assert "latest NPS is 10 (promoter)" in result.reasons


@pytest.mark.parametrize("day", [0, 1, 30, 90, 365, 3650])
def test_scores_stay_between_0_and_100(day: int) -> None:
    bad = fold(*(ticket("c", 0, f"T-{n}", priority="urgent", category="complaint") for n in range(10)))
    for state in (bad, engaged_customer()):
        assert 0.0 <= score(state, MODEL, at(day)).score <= 100.0


def loyalty(state, now) -> float:
    return next(d.value for d in score(state, MODEL, now).dimensions if d.name == "loyalty")


def test_a_monthly_buyer_silent_90_days_is_less_loyal_than_a_yearly_buyer_90_days_after_buying() -> None:
    monthly = fold(*(purchase("c", d) for d in range(0, 361, 30)))  # last purchase on day 360
    yearly = fold(*(purchase("c", d) for d in (-2 * 365 + 360, -365 + 360, 360)))
    now = at(450)
    assert loyalty(monthly, now) < loyalty(yearly, now)
    assert "no purchase for 90 days, 3.0x the usual 30-day cycle" in score(monthly, MODEL, now).reasons


def test_one_off_gaps_do_not_change_the_purchase_cycle() -> None:
    steady = fold(*(purchase("c", d) for d in (0, 30, 60, 90, 120)))
    with_holiday = fold(*(purchase("c", d) for d in (0, 30, 60, 150, 180)))  # one 90-day gap
    assert expected_cycle_days(steady, MODEL) == expected_cycle_days(with_holiday, MODEL) == 30.0


def test_before_a_second_purchase_the_model_default_cycle_is_what_recency_overdue_and_alerts_use() -> None:
    once = fold(purchase("c", 0))
    assert expected_cycle_days(once, MODEL) == MODEL.defaults.purchase_cycle_days
    days = 3 * MODEL.defaults.purchase_cycle_days
    result = score(once, MODEL, at(days))
    assert f"an assumed {MODEL.defaults.purchase_cycle_days:.0f}-day cycle" in " ".join(result.reasons)


def test_a_customer_with_only_visits_is_scored_on_activity_with_low_confidence() -> None:
    result = score(fold(*(visit("c", d) for d in range(0, 30, 2))), MODEL, at(30))
    assert result.confidence == 0.2
    assert [d.name for d in result.dimensions if d.value is not None] == ["activity"]
    assert result.tier == "watch"  # a busy visitor, but the other 80% of the model is the typical customer's


def test_windows_count_7_30_and_90_days_and_the_visit_trend() -> None:
    state = fold(*(visit("c", d) for d in range(0, 60, 2)), *(visit("c", d) for d in range(60, 90, 6)))
    result = score(state, MODEL, at(90))
    # Days 61-90 hold the visits of days 66..84; days 31-60 those of 32..58 and 60.
    assert "visits down: 4 in the last 30 days against 15 in the 30 before" in [s.reason for s in result.signals]
    spend = fold(purchase("c", 1, 10.0), purchase("c", 50, 20.0), purchase("c", 85, 40.0))
    reasons = [s.reason for s in score(spend, MODEL, at(90)).signals]
    assert "70.00 spent in the last 90 days" in reasons and "70.00 spent in total" in reasons
    assert "40.00 spent in the last 90 days" in [s.reason for s in score(spend, MODEL, at(140)).signals]
