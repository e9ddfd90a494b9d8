"""Backtest arithmetic on a hand-made log whose answers are known."""

from datetime import datetime, timezone

import pytest

from schemas.model_config import ScoringModel
from scoring.backtest import Split, churn_auc, churn_labels, evaluate, fold_until, rfm_rank, score_at
from scoring.calibrate import calibrate
from tests.factories import at, purchase, us, visit

SPLIT = Split(cutoff=at(100), holdout_end=at(200))


def log():
    """Four customers. a and b keep buying in the holdout; c and d churn; e only visits before the cutoff."""
    return sorted(
        [
            *(purchase("a", d, 50.0) for d in range(0, 100, 10)), purchase("a", 120),
            *(purchase("b", d, 20.0) for d in (10, 60, 95)), purchase("b", 150),
            *(purchase("c", d, 20.0) for d in (5, 40)),
            purchase("d", 2, 5.0),
            visit("e", 50), purchase("e", 250),  # a purchase after the holdout does not count
        ],
        key=lambda e: e.occurred_at,
    )  # fmt: skip


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
    assert result.churn_rate_by_tier == {"healthy": (1, 0.0), "watch": (1, 1.0), "at_risk": (2, 0.5), "critical": (1, 1.0)}
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
