"""How high can any purchase-history ranking go on the CDNOW churn split? An upper bound, not a model.

Fits a logistic regression on recency, frequency and monetary features of the
calibration period *on the holdout labels themselves* (in-sample, so
optimistic) and reports its AUC next to the health score's. A score built
only from purchase history and not fitted on the holdout should not expect
to beat it. Run: `python benchmarks/cdnow_auc_ceiling.py` (needs the `backtest` extra).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from scoring.backtest import Split, churn_labels, fold_until
from scoring.instants import US_PER_DAY, to_us
from scoring.windows import MICROS
from streams.tools.backtest import day
from streams.tools.datasets import load_cdnow

SPLIT = Split.from_days(day("1997-09-30"), day("1998-06-30"))


def features(states: dict, now) -> tuple[list[str], np.ndarray]:
    """Log purchases, days since the last purchase, log spend, log purchases in 90 days, log spend in 90 days."""
    rows = []
    at = to_us(now)
    for s in states.values():
        recent_purchases = s.buckets.total("purchases", at // US_PER_DAY, 90)
        recent_spend = s.buckets.total("spend", at // US_PER_DAY, 90) / MICROS
        rows.append(
            [
                math.log1p(s.purchase_count),
                (at - s.last_purchase_at) // US_PER_DAY,
                math.log1p(s.total_spend / MICROS),
                math.log1p(recent_purchases),
                math.log1p(recent_spend),
            ]
        )
    return ["log purchases", "days since purchase", "log spend", "log purchases 90d", "log spend 90d"], np.array(rows)


def main() -> None:
    events = load_cdnow()
    states = fold_until(events, SPLIT.cutoff)
    churned = churn_labels(events, states, SPLIT)
    y = np.array([churned[c] for c in states], dtype=int)
    names, x = features(states, SPLIT.cutoff)
    for cols in ([0, 1, 2], [0, 1, 2, 3, 4]):
        scaled = StandardScaler().fit_transform(x[:, cols])
        fit = LogisticRegression(max_iter=1000).fit(scaled, y)
        auc = roc_auc_score(y, fit.decision_function(scaled))
        print(f"in-sample logistic regression on {', '.join(names[c] for c in cols)}: AUC {auc:.4f}")
    for c, name in enumerate(names):
        print(f"  {name} alone: AUC {max(roc_auc_score(y, x[:, c]), roc_auc_score(y, -x[:, c])):.4f}")


if __name__ == "__main__":
    main()
