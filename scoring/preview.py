"""Preview a candidate model before go-live: both models on the same customers, side by side.

Pure: states in, comparison out. The states come from replaying an event log
(the same fold the worker runs); the scores are the models' own, without
manual overrides, because the question is what the model change does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.model_config import Model
from schemas.outputs import TIERS, Tier
from scoring.backtest import churn_auc
from scoring.model import score
from scoring.model_choice import model_for
from scoring.pipeline import scorable
from scoring.state import CustomerState

BUCKETS = tuple(range(0, 100, 10))  # [0,10) ... [90,100]


@dataclass(frozen=True)
class Side:
    """One model's view of the customers."""

    label: str
    scores: dict[str, float]
    tiers: dict[str, Tier]
    auc: float | None  # churn ROC-AUC, when churn labels are known

    def tier_counts(self) -> dict[Tier, int]:
        return {tier: sum(t == tier for t in self.tiers.values()) for tier in TIERS}

    def histogram(self) -> list[int]:
        """Customers per 10-point bucket; 100 goes in the last."""
        counts = [0] * len(BUCKETS)
        for value in self.scores.values():
            counts[min(int(value // 10), len(BUCKETS) - 1)] += 1
        return counts


@dataclass(frozen=True)
class TierMove:
    customer_id: str
    current: Tier
    candidate: Tier
    current_score: float
    candidate_score: float


@dataclass(frozen=True)
class Preview:
    current: Side
    candidate: Side
    moves: list[TierMove]  # customers whose tier changes, largest score change first


def side(
    label: str, states: dict[str, CustomerState], model: Model, now: datetime, churned: dict[str, bool] | None
) -> Side:
    scores, tiers = {}, {}
    for cid, state in states.items():
        assessment = score(state, model_for(model, state.profile), now)
        scores[cid], tiers[cid] = assessment.score, assessment.tier
    auc = churn_auc(scores, {c: churned[c] for c in scores}) if churned is not None else None
    return Side(label, scores, tiers, auc)


def compare(
    states: dict[str, CustomerState],
    current: Model,
    candidate: Model,
    now: datetime,
    churned: dict[str, bool] | None = None,
    labels: tuple[str, str] = ("current", "candidate"),
) -> Preview:
    """Both models at `now` over the customers with behaviour to score; churn AUCs when labels are given."""
    scored = {cid: s for cid, s in states.items() if scorable(s)}
    before, after = side(labels[0], scored, current, now, churned), side(labels[1], scored, candidate, now, churned)
    moves = [
        TierMove(cid, before.tiers[cid], after.tiers[cid], before.scores[cid], after.scores[cid])
        for cid in scored
        if before.tiers[cid] != after.tiers[cid]
    ]
    moves.sort(key=lambda m: (-abs(m.candidate_score - m.current_score), m.customer_id))
    return Preview(before, after, moves)
