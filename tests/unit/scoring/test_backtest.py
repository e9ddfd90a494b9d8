"""Backtest arithmetic on a hand-made log whose answers are known."""

from datetime import datetime, timedelta, timezone

import pytest

from schemas.model_config import ScoringModel
from scoring.backtest import (
    DAYS_PER_MONTH,
    AlertFigures,
    Split,
    alert_figures,
    alerts_before,
    churn_auc,
    churn_labels,
    evaluate,
    fold_until,
    rfm_rank,
    score_at,
)
from scoring.calibrate import calibrate
from scoring.records import AlertRecord
from scoring.replay import replay_with_timer
from tests.factories import at, purchase, us, visit
from tests.samples import sample_events

SPLIT = Split(cutoff=at(100), holdout_end=at(200))


def log():
    """Four customers. a and b keep buying in the holdout; c and d churn; e only visits before the cutoff."""
    return sorted(
        [
            *(purchase("a", d, 50.0) for d in range(0, 100, 10)),
            purchase("a", 120),
            *(purchase("b", d, 20.0) for d in (10, 60, 95)),
            purchase("b", 150),
            *(purchase("c", d, 20.0) for d in (5, 40)),
            purchase("d", 2, 5.0),
            visit("e", 50),
            purchase("e", 250),  # a purchase after the holdout does not count
        ],
        key=lambda e: e.occurred_at,
    )


def test_the_split_takes_inclusive_days() -> None:
    split = Split.from_days(datetime(1997, 9, 30, tzinfo=timezone.utc), datetime(1998, 6, 30, tzinfo=timezone.utc))
    assert split.cutoff == datetime(1997, 10, 1, tzinfo=timezone.utc)
    assert split.holdout_end == datetime(1998, 7, 1, tzinfo=timezone.utc)


def test_states_at_the_cutoff_see_only_earlier_events_and_labels_read_the_holdout() -> None:
    events = log()
    states = fold_until(events, SPLIT.cutoff)
    assert set(states) == {"a", "b", "c", "d", "e"}
    assert states["a"].purchase_count == 10 and states["e"].purchase_count == 0
    assert churn_labels(events, states, SPLIT) == {"a": False, "b": False, "c": True, "d": True, "e": True}


@pytest.mark.parametrize(
    "scores, auc",
    [
        ({"a": 90, "b": 80, "c": 30, "d": 20, "e": 10}, 1.0),  # every churner below every stayer
        ({"a": 10, "b": 20, "c": 80, "d": 90, "e": 95}, 0.0),
        ({"a": 50, "b": 20, "c": 40, "d": 10, "e": 30}, 4 / 6),  # 4 of 6 stayer-churner pairs ordered right
        ({"a": 50, "b": 50, "c": 50, "d": 50, "e": 50}, 0.5),  # ties count half
    ],
)
def test_auc_is_the_share_of_stayer_churner_pairs_ranked_right(scores, auc) -> None:
    churned = {"a": False, "b": False, "c": True, "d": True, "e": True}
    assert churn_auc(scores, churned) == pytest.approx(auc)


def test_precision_recall_tier_and_decile_churn_rates() -> None:
    churned = {"a": False, "b": False, "c": True, "d": True, "e": True}
    scores = {"a": 90, "b": 40, "c": 35, "d": 20, "e": 60}
    tiers = {"a": "healthy", "b": "at_risk", "c": "at_risk", "d": "critical", "e": "watch"}
    result = evaluate(scores, churned, tiers)
    assert result.precision == pytest.approx(2 / 3)  # b, c, d flagged; c and d churned
    assert result.recall == pytest.approx(2 / 3)  # c, d of the churners c, d, e
    assert result.churn_rate_by_tier == {
        "healthy": (1, 0.0),
        "watch": (1, 1.0),
        "at_risk": (2, 0.5),
        "critical": (1, 1.0),
    }
    assert [rate for _, _, rate in result.churn_rate_by_decile][:2] == [1.0, 1.0]  # d, then c: the lowest scores
    assert result.churn_rate == 0.6 and result.customers == 5


def test_the_score_and_the_rfm_reference_rank_the_hand_made_log_perfectly() -> None:
    events = log()
    states = {c: s for c, s in fold_until(events, SPLIT.cutoff).items() if c != "e"}
    churned = churn_labels(events, states, SPLIT)
    scores, _ = score_at(states, ScoringModel(), SPLIT.cutoff)
    assert churn_auc(scores, churned) == 1.0
    assert churn_auc(rfm_rank(states, SPLIT.cutoff), churned) == 1.0


def test_calibration_keeps_only_signals_good_for_the_customer_and_ranks_at_least_as_well() -> None:
    events = [purchase(c, d, 10.0 * (1 + n % 3)) for n, c in enumerate("abcdefghij") for d in range(0, 10 * (n + 1), 7)]
    states = fold_until(events, at(60))
    churned = {c: (s.last_purchase_at < us(30)) for c, s in states.items()}
    model, auc = calibrate(states, churned, ScoringModel(), at(60), "fitted")
    assert model.name == "fitted" and model.version == "2-calibrated"
    assert all(getattr(model.signals, n).weight >= 0 for n in type(model.signals).model_fields)
    assert model.weights.satisfaction == ScoringModel().weights.satisfaction  # never seen: left as it was
    fitted_scores, _ = score_at(states, model, at(60))
    assert churn_auc(fitted_scores, churned) >= auc - 1e-9


# Ten customers, seven of whom churn (base 0.7); the window is two months long.
CHURNED = {f"c{n}": n < 7 for n in range(10)}
TWO_MONTHS = 2 * DAYS_PER_MONTH


def raised(customer: str, trigger: str) -> AlertRecord:
    return AlertRecord(
        alert_id=f"{customer}-{trigger}",
        customer_id=customer,
        trigger=trigger,
        detail="",
        tier="at_risk",
        previous_tier=None,
        score=40.0,
        change_7d=None,
        segment="at_risk",
        reasons=[],
        changes=[],
        raised_at=at(0),
        model_name="default",
        model_version="2",
    )


def test_alert_figures_per_trigger_and_for_all_alerts_together() -> None:
    alerts = [raised(c, "tier_entry") for c in ("c0", "c0", "c1", "c7")] + [
        raised(c, "purchase_overdue") for c in ("c2", "c3")
    ]
    figures = alert_figures([*alerts, raised("stranger", "tier_entry")], CHURNED, TWO_MONTHS)
    # tier_entry: 4 alerts about c0, c1, c7; two of the three churned; of the 7 not alerted, 5 churned.
    assert figures["tier_entry"] == AlertFigures(
        count=4,
        customers=3,
        precision=pytest.approx(2 / 3),
        lift=pytest.approx((2 / 3) / 0.7),
        normalized_lift=pytest.approx((2 / 3 - 0.7) / 0.3),
        relative_risk=pytest.approx((2 / 3) / (5 / 7)),
        recall=pytest.approx(2 / 7),
        per_1000_per_month=pytest.approx(4 / 0.01 / 2),
    )
    # purchase_overdue: both alerted churned, the best possible: normalized lift 1; of the other 8, 5 churned.
    overdue = figures["purchase_overdue"]
    assert (overdue.count, overdue.customers, overdue.precision, overdue.normalized_lift) == (
        2,
        2,
        1.0,
        pytest.approx(1.0),
    )
    assert overdue.relative_risk == pytest.approx(1 / (5 / 8)) and overdue.per_1000_per_month == pytest.approx(100.0)
    # Together: 6 alerts about 5 customers, 4 of whom churned; of the other 5, 3 churned.
    every = figures["all"]
    assert (every.count, every.customers, every.precision, every.recall) == (6, 5, 0.8, pytest.approx(4 / 7))
    assert every.normalized_lift == pytest.approx(1 / 3) and every.relative_risk == pytest.approx(0.8 / 0.6)
    assert every.per_1000_per_month == pytest.approx(300.0)


def test_a_trigger_that_never_fired_is_reported_with_nothing_to_divide() -> None:
    figures = alert_figures([raised("c0", "tier_entry")], CHURNED, TWO_MONTHS)
    assert set(figures) == {
        "tier_entry",
        "score_drop",
        "purchase_overdue",
        "detractor_nps",
        "stale_ticket",
        "renewal_risk",
        "all",
    }
    assert figures["detractor_nps"] == AlertFigures(
        count=0,
        customers=0,
        precision=None,
        lift=None,
        normalized_lift=None,
        relative_risk=None,
        recall=0.0,
        per_1000_per_month=0.0,
    )


@pytest.mark.parametrize(
    "churned, alerted, expected",
    [
        # Everybody alerted: no one to compare with.
        ({"a": True, "b": False}, ["a", "b"], {"precision": 0.5, "relative_risk": None, "normalized_lift": 0.0}),
        # Nobody churned: no base to lift, no churner to recall.
        ({"a": False, "b": False}, ["a"], {"precision": 0.0, "lift": None, "normalized_lift": 0.0, "recall": None}),
        # Everybody churned: no gain was possible, and those not alerted churned as well.
        ({"a": True, "b": True}, ["a"], {"precision": 1.0, "lift": 1.0, "normalized_lift": None, "relative_risk": 1.0}),
        # The customers not alerted all stayed: a relative risk without bound is left out.
        ({"a": True, "b": False}, ["a"], {"precision": 1.0, "relative_risk": None, "recall": 1.0}),
    ],
)
def test_figures_that_would_divide_by_zero_are_none(churned, alerted, expected) -> None:
    figures = alert_figures([raised(c, "tier_entry") for c in alerted], churned, TWO_MONTHS)["tier_entry"]
    assert {name: getattr(figures, name) for name in expected} == pytest.approx(expected)


def test_the_backtest_judges_alerts_raised_by_a_worker_whose_timer_ran_from_the_first_event() -> None:
    """An alert raised before the window is not raised again when the window opens, as a worker started there would."""
    events = sorted(
        [purchase("a", d, 40.0) for d in (0, 10, 20)]
        + [purchase("b", d, 40.0) for d in (100, 110, 120)]
        + [purchase("once", 150, 40.0)],
        key=lambda e: e.occurred_at,
    )
    split = Split(cutoff=at(200), holdout_end=at(300))
    every = replay_with_timer(events, ScoringModel()).alerts
    assert [a.raised_at for a in every if (a.customer_id, a.trigger) == ("a", "purchase_overdue")] == [at(50)]
    window = alerts_before(events, ScoringModel(), split, window_days=90)
    assert window == [a for a in every if at(110) <= a.raised_at < at(200)]
    assert ("a", "purchase_overdue") not in {(a.customer_id, a.trigger) for a in window}
    assert ("b", "purchase_overdue") in {(a.customer_id, a.trigger) for a in window}  # b's last purchase is recent


def test_leaving_out_customers_who_cannot_be_alerted_changes_no_alert_of_the_sample() -> None:
    customers = sorted({e.customer_id for e in sample_events()})[:100]
    events = sorted((e for e in sample_events() if e.customer_id in customers), key=lambda e: e.occurred_at)
    split = Split(
        cutoff=datetime(2025, 3, 1, tzinfo=timezone.utc), holdout_end=datetime(2025, 5, 1, tzinfo=timezone.utc)
    )
    model = ScoringModel(alerts={"min_events": 3})
    every = replay_with_timer([e for e in events if e.occurred_at < split.cutoff], model).alerts
    expected = [a for a in every if a.raised_at >= split.cutoff - timedelta(days=30)]
    assert len(expected) > 10
    assert alerts_before(events, model, split, window_days=30) == expected


def test_a_silent_customer_is_alerted_when_the_timer_finds_them_due_with_no_event_to_wake_them() -> None:
    """The worker's timer rule: re-scored daily from the last score while time moves it; alerted the day it is due."""
    events = [purchase("quiet", d, 40.0) for d in (0, 10, 20)]  # a 10-day cycle, then silence
    window = alerts_before(events, ScoringModel(), Split(cutoff=at(120), holdout_end=at(200)), window_days=119)
    overdue = [a for a in window if a.trigger == "purchase_overdue"]
    # 3 cycles after the last purchase: day 50, a due time of the daily review begun at day 20, not an event's time.
    assert [(a.raised_at, a.event_id) for a in overdue] == [(at(50), None)]


@pytest.mark.parametrize("min_days, raised_at", [(0, at(50)), (60, at(80)), (120, at(140))])
def test_purchase_overdue_waits_for_min_days_and_the_timer_looks_then_even_after_the_score_settled(
    min_days, raised_at
) -> None:
    """A 10-day cycle: 3 cycles are 30 days; past 90 days of silence the score has settled and daily looks have stopped."""
    model = ScoringModel(alerts={"triggers": {"purchase_overdue": {"min_days": min_days}}})
    events = [purchase("quiet", d, 40.0) for d in (0, 10, 20)]
    alerts = replay_with_timer(events, model, until=at(300)).alerts
    assert [a.raised_at for a in alerts if a.trigger == "purchase_overdue"] == [raised_at]
