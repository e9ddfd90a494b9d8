"""Backtest: how well the health score at a cutoff predicts churn in the holdout that follows.

Pure: events in, numbers out. The same fold and score the worker runs give
each customer's score at the cutoff (event-time clock); churned means no
purchase in the holdout. References from the same split: lifetimes'
BG/NBD expected holdout purchases and an equal-weight recency, frequency,
monetary rank.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import get_args

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from schemas.events import Event
from schemas.model_config import Model, ScoringModel
from schemas.outputs import Tier, Trigger
from scoring.instants import to_us
from scoring.model import score
from scoring.model_choice import models_of
from scoring.records import AlertRecord
from scoring.replay import replay_with_timer
from scoring.seen import recall
from scoring.state import CustomerState, digest_of, fold, new_state

RISK_TIERS: frozenset[Tier] = frozenset({"at_risk", "critical"})
TIERS: tuple[Tier, ...] = ("healthy", "watch", "at_risk", "critical")


@dataclass(frozen=True)
class Split:
    """Calibration is everything before `cutoff`; the holdout is [cutoff, holdout_end)."""

    cutoff: datetime
    holdout_end: datetime

    @classmethod
    def from_days(cls, last_calibration_day: datetime, last_holdout_day: datetime) -> Split:
        """Inclusive day bounds, as people write splits ("calibration to 1997-09-30")."""
        return cls(last_calibration_day + timedelta(days=1), last_holdout_day + timedelta(days=1))


def fold_until(
    events: Iterable[Event], cutoff: datetime, progress: Callable[[int], None] | None = None
) -> dict[str, CustomerState]:
    """Each customer's state from the events before `cutoff`, applied in the order given (event time)."""
    states: dict[str, CustomerState] = {}
    for n, event in enumerate(events, start=1):
        if event.occurred_at < cutoff:
            state = states.get(event.customer_id) or states.setdefault(event.customer_id, new_state(event.customer_id))
            if recall(state.seen, event.event_id) is None:
                fold(state, event, digest_of(event))
        if progress is not None and n % 5000 == 0:
            progress(5000)
    return states


def churn_labels(events: Iterable[Event], customers: Iterable[str], split: Split) -> dict[str, bool]:
    """True for a customer who made no purchase in the holdout."""
    bought = {
        e.customer_id for e in events if e.kind == "purchase" and split.cutoff <= e.occurred_at < split.holdout_end
    }
    return {c: c not in bought for c in customers}


@dataclass
class Evaluation:
    """How one ranking of customers predicts churn; AUC treats a lower score as more likely to churn."""

    customers: int
    churn_rate: float
    auc: float
    precision: float | None = None  # of at_risk + critical, the share that churned
    recall: float | None = None  # of those who churned, the share flagged at_risk + critical
    churn_rate_by_tier: dict[str, tuple[int, float]] = field(default_factory=dict)
    churn_rate_by_decile: list[tuple[int, int, float]] = field(default_factory=list)  # (decile 1 = lowest, n, rate)
    roc: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))


def churn_auc(scores: dict[str, float], churned: dict[str, bool]) -> float:
    """ROC-AUC of the score for churn, where a lower score should mean churn."""
    ids = list(churned)
    y = np.array([churned[c] for c in ids], dtype=int)
    return float(roc_auc_score(y, -np.array([scores[c] for c in ids])))


def evaluate(scores: dict[str, float], churned: dict[str, bool], tiers: dict[str, Tier] | None = None) -> Evaluation:
    ids = list(churned)
    y = np.array([churned[c] for c in ids], dtype=int)
    s = np.array([scores[c] for c in ids], dtype=float)
    fpr, tpr, _ = roc_curve(y, -s)
    result = Evaluation(
        customers=len(ids), churn_rate=float(y.mean()), auc=churn_auc(scores, churned), roc=(fpr.tolist(), tpr.tolist())
    )
    order = np.argsort(s, kind="stable")
    for decile, chunk in enumerate(np.array_split(order, 10), start=1):
        if len(chunk):
            result.churn_rate_by_decile.append((decile, len(chunk), float(y[chunk].mean())))
    if tiers is not None:
        flagged = np.array([tiers[c] in RISK_TIERS for c in ids])
        result.precision = float(y[flagged].mean()) if flagged.any() else None
        result.recall = float(flagged[y == 1].mean()) if (y == 1).any() else None
        for tier in TIERS:
            mine = np.array([tiers[c] == tier for c in ids])
            if mine.any():
                result.churn_rate_by_tier[tier] = (int(mine.sum()), float(y[mine].mean()))
    return result


def score_at(
    states: dict[str, CustomerState], model: ScoringModel, now: datetime
) -> tuple[dict[str, float], dict[str, Tier]]:
    scores, tiers = {}, {}
    for cid, state in states.items():
        result = score(state, model, now)
        # Ranked by the unrounded score: the published one has one decimal, which ties customers apart in the data.
        scores[cid], tiers[cid] = result.points, result.tier
    return scores, tiers


def rfm_rank(states: dict[str, CustomerState], now: datetime) -> dict[str, float]:
    """Equal-weight mean of recency, frequency and monetary percentile ranks (higher = healthier)."""
    from scipy.stats import rankdata

    ids = list(states)
    at = to_us(now)
    recency = [-(at - p) / 1e6 if (p := states[c].last_purchase_at) is not None else -1e18 for c in ids]
    frequency = [states[c].purchase_count for c in ids]
    monetary = [states[c].total_spend for c in ids]
    ranks = sum(rankdata(column) for column in (recency, frequency, monetary)) / (3.0 * len(ids))
    return dict(zip(ids, ranks.tolist()))


def bgnbd_expected_purchases(events: Iterable[Event], split: Split, customers: Iterable[str]) -> dict[str, float]:
    """lifetimes' BG/NBD fitted on the calibration purchases: expected purchases in the holdout (higher = healthier)."""
    import pandas as pd
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import summary_data_from_transaction_data

    rows = [
        (e.customer_id, e.occurred_at.replace(tzinfo=None))
        for e in events
        if e.kind == "purchase" and e.occurred_at < split.cutoff
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "date"])
    summary = summary_data_from_transaction_data(
        frame,
        "customer_id",
        "date",
        observation_period_end=(split.cutoff - timedelta(days=1)).replace(tzinfo=None),
        freq="D",
    )
    fitter = BetaGeoFitter(penalizer_coef=0.0).fit(summary["frequency"], summary["recency"], summary["T"])
    days = (split.holdout_end - split.cutoff).days
    expected = fitter.conditional_expected_number_of_purchases_up_to_time(
        days, summary["frequency"], summary["recency"], summary["T"]
    )
    # Customers with no calibration purchase (only other events) get the lowest expectation.
    return {c: float(expected.get(c, 0.0)) for c in customers}


# Days of alerts before the cutoff that the backtest judges: the worker's timer runs over them.
ALERT_WINDOW_DAYS = 90
DAYS_PER_MONTH = 365.25 / 12
ALL_TRIGGERS: tuple[str, ...] = get_args(Trigger)


@dataclass(frozen=True)
class AlertFigures:
    """What one trigger's alerts (or all of them) raised before the cutoff predicted about churn in the holdout.

    precision: of the customers alerted, the share who churned. lift: that
    over the base churn rate. normalized_lift: (precision - base) / (1 - base),
    the share of the possible gain (with a base of 0.70, lift cannot pass
    1.43). relative_risk: the churn rate of the alerted over that of the
    customers not alerted. recall: of those who churned, the share alerted.
    A figure that has no value (nobody alerted, nobody left unalerted, or a
    rate of 0 to divide by) is None.
    """

    count: int
    customers: int
    precision: float | None
    lift: float | None
    normalized_lift: float | None
    relative_risk: float | None
    recall: float | None
    per_1000_per_month: float


def alert_figures(
    alerts: Iterable[AlertRecord], churned: dict[str, bool], window_days: float
) -> dict[str, AlertFigures]:
    """Per trigger (every one, silent ones with a count of 0), and under "all" for every alert together.

    `alerts` are those raised in the window of `window_days` before the
    cutoff; `churned` labels every customer known at the cutoff, and alerts
    about anybody else are not counted.
    """
    by_trigger: dict[str, list[AlertRecord]] = {trigger: [] for trigger in ALL_TRIGGERS}
    for alert in alerts:
        if alert.customer_id in churned:
            by_trigger[alert.trigger].append(alert)
    by_trigger["all"] = [a for found in by_trigger.values() for a in found]
    return {trigger: _figures(raised, churned, window_days) for trigger, raised in by_trigger.items()}


def _figures(raised: list[AlertRecord], churned: dict[str, bool], window_days: float) -> AlertFigures:
    customers, churners = len(churned), sum(churned.values())
    base = churners / customers if customers else None
    alerted = {a.customer_id for a in raised}
    hit = sum(churned[c] for c in alerted)
    rest, rest_hit = customers - len(alerted), churners - hit
    precision = hit / len(alerted) if alerted else None
    rest_rate = rest_hit / rest if rest else None
    months = window_days / DAYS_PER_MONTH
    return AlertFigures(
        count=len(raised),
        customers=len(alerted),
        precision=precision,
        lift=precision / base if precision is not None and base else None,
        normalized_lift=(precision - base) / (1 - base)
        if precision is not None and base is not None and base < 1
        else None,
        relative_risk=precision / rest_rate if precision is not None and rest_rate else None,
        recall=hit / churners if churners else None,
        per_1000_per_month=len(raised) / (customers / 1000) / months if customers and months else 0.0,
    )


def alerts_before(
    events: list[Event], model: Model, split: Split, window_days: float = ALERT_WINDOW_DAYS
) -> list[AlertRecord]:
    """The alerts a worker running since the first event would have raised in the `window_days` before the cutoff.

    Events must be in time order; only those before the cutoff count. The
    timer runs from the first event, as a worker's does: started at the
    window instead, its first tick alerts everyone whose risk rose before
    the window, as if it had just happened (on CDNOW half of the alerts).
    Customers with fewer behaviour events before the cutoff than every
    model's `min_events` are left out: no score of theirs can alert.
    """
    floor = min(m.alerts.min_events for m in models_of(model))
    counts = Counter(e.customer_id for e in events if e.occurred_at < split.cutoff and e.kind != "profile")
    kept = [e for e in events if e.occurred_at < split.cutoff and counts[e.customer_id] >= floor]
    replayed = replay_with_timer(kept, model, until=split.cutoff - timedelta(microseconds=1), publish="alerts")
    start = split.cutoff - timedelta(days=window_days)
    return [a for a in replayed.alerts if a.raised_at >= start]
