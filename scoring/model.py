"""The weighted health model: signals -> dimensions -> a 0-100 score, tier and reasons.

Each signal is a normalised 0..1 value with a sentence that explains it; a
dimension is the weighted mean of the signals that are known; the score is
the weighted mean of the known dimensions, so missing data is left out and
the weights renormalised rather than read as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from schemas.model_config import ScoringModel, TierThresholds
from schemas.outputs import Dimension, DimensionScore, Tier
from scoring.normalize import linear, log_saturating
from scoring.state import HIGH_PRIORITIES, CustomerState

DIMENSIONS: tuple[Dimension, ...] = ("satisfaction", "loyalty", "activity", "financial")

# Defaults from customer-success practice; issue-tracked to move into the model file.
DEFAULT_CYCLE_DAYS = 30.0  # assumed purchase cycle until a customer has shown one
OVERDUE_ZERO_RATIO = 4.0  # days since purchase / cycle at which recency scores 0
REPEAT_SATURATION = 10  # purchases after which repeat buying scores 1
VISITS_SATURATION = 12  # visits in 30 days that score 1
VISIT_FRESH_DAYS, VISIT_STALE_DAYS = 7.0, 45.0
SPEND_90D_SATURATION, SPEND_LIFETIME_SATURATION = 500.0, 2000.0
TICKET_LOAD_PENALTY = {"high": 0.25, "other": 0.10, "complaint": 0.20}
# Below this normalised value a signal is worth naming as a reason.
CONCERN_BELOW = 0.6
MAX_REASONS = 3


@dataclass(frozen=True)
class Signal:
    dimension: Dimension
    weight: float  # share within its dimension, before renormalising
    value: float
    reason: str


@dataclass(frozen=True)
class Assessment:
    score: float
    tier: Tier
    confidence: float
    dimensions: tuple[DimensionScore, ...]
    reasons: tuple[str, ...]


def tier_for(score: float, tiers: TierThresholds) -> Tier:
    if score >= tiers.healthy:
        return "healthy"
    if score >= tiers.watch:
        return "watch"
    if score >= tiers.at_risk:
        return "at_risk"
    return "critical"


def score(state: CustomerState, model: ScoringModel, now: datetime) -> Assessment:
    """Score `state` as of `now`; the same state and `now` always give the same result."""
    signals = signals_of(state, now)
    weights = model.weights.model_dump()
    values: dict[Dimension, float | None] = {}
    for dim in DIMENSIONS:
        mine = [s for s in signals if s.dimension == dim]
        total = sum(s.weight for s in mine)
        values[dim] = sum(s.weight * s.value for s in mine) / total if total else None
    known_weight = sum(weights[d] for d in DIMENSIONS if values[d] is not None)
    all_weight = sum(weights.values())
    dims = []
    points = 0.0
    for dim in DIMENSIONS:
        share = weights[dim] / known_weight if values[dim] is not None and known_weight else 0.0
        contribution = 100.0 * share * (values[dim] or 0.0)
        points += contribution
        dims.append(
            DimensionScore(
                name=dim,
                value=None if values[dim] is None else round(values[dim], 4),
                weight=round(share, 4),
                contribution=round(contribution, 2),
            )
        )
    final = round(min(100.0, max(0.0, points)), 1)
    return Assessment(
        score=final,
        tier=tier_for(final, model.tiers),
        confidence=round(known_weight / all_weight, 4) if all_weight else 0.0,
        dimensions=tuple(dims),
        reasons=_reasons(signals, values, weights, known_weight),
    )


def _reasons(
    signals: list[Signal], values: dict[Dimension, float | None], weights: dict[str, float], known: float
) -> tuple[str, ...]:
    """Name the signals that cost the most points; when none is a concern, the strongest ones."""

    def cost(s: Signal) -> float:
        dim_total = sum(x.weight for x in signals if x.dimension == s.dimension)
        return (weights[s.dimension] / known) * (s.weight / dim_total) * (1.0 - s.value)

    concerns = sorted((s for s in signals if s.value < CONCERN_BELOW), key=cost, reverse=True)
    if concerns:
        return tuple(s.reason for s in concerns[:MAX_REASONS])
    strengths = sorted(signals, key=lambda s: s.value * s.weight, reverse=True)
    return tuple(s.reason for s in strengths[:MAX_REASONS])


def _days(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() / 86400.0)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def purchase_cycle_days(state: CustomerState) -> float:
    """The customer's typical gap between purchases; the median shrugs off one-off gaps."""
    return median(state.purchase_gaps_days) if state.purchase_gaps_days else DEFAULT_CYCLE_DAYS


def signals_of(state: CustomerState, now: datetime) -> list[Signal]:
    """Every signal that is known for this customer, normalised, with its reason."""
    return [
        *_satisfaction(state, now),
        *_loyalty(state, now),
        *_activity(state, now),
        *_financial(state, now),
    ]


def _satisfaction(state: CustomerState, now: datetime) -> list[Signal]:
    out = []
    if state.recent_csat:
        avg = sum(state.recent_csat) / len(state.recent_csat)
        n = len(state.recent_csat)
        out.append(
            Signal("satisfaction", 1.0, linear(avg, 1.0, 5.0), f"CSAT averages {avg:.1f}/5 over the last {_plural(n, 'survey')}")
        )
    if state.nps_latest is not None:
        nps = state.nps_latest
        category = "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"
        out.append(Signal("satisfaction", 1.0, linear(nps, 2.0, 10.0), f"latest NPS is {nps} ({category})"))
    if state.tickets_opened:
        horizon = now - timedelta(days=90)
        high = sum(1 for t in state.open_tickets if t.priority in HIGH_PRIORITIES)
        other = len(state.open_tickets) - high
        complaints = sum(1 for at in state.recent_complaints if at >= horizon)
        load = (
            TICKET_LOAD_PENALTY["high"] * high
            + TICKET_LOAD_PENALTY["other"] * other
            + TICKET_LOAD_PENALTY["complaint"] * complaints
        )
        parts = []
        if high:
            oldest = min(t.opened_at for t in state.open_tickets if t.priority in HIGH_PRIORITIES)
            age = _days(now, oldest)
            since = "opened today" if age < 1 else f"oldest open for {age:.0f} days"
            parts.append(f"{_plural(high, 'high-priority ticket')} open, {since}")
        if other:
            parts.append(f"{_plural(other, 'other ticket')} open")
        if complaints:
            parts.append(f"{_plural(complaints, 'complaint')} in the last 90 days")
        reason = "; ".join(parts) if parts else "no open tickets or recent complaints"
        out.append(Signal("satisfaction", 1.0, max(0.0, 1.0 - load), reason))
    return out


def _loyalty(state: CustomerState, now: datetime) -> list[Signal]:
    if not state.purchase_count or state.last_purchase_at is None:
        return []
    n = state.purchase_count
    cycle = purchase_cycle_days(state)
    since = _days(now, state.last_purchase_at)
    ratio = since / cycle if cycle > 0 else 0.0
    shown = "the usual" if state.purchase_gaps_days else "an assumed"
    return [
        Signal("loyalty", 0.4, log_saturating(n, REPEAT_SATURATION), f"{_plural(n, 'purchase')} so far"),
        Signal(
            "loyalty",
            0.6,
            linear(ratio, OVERDUE_ZERO_RATIO, 1.0),
            f"no purchase for {since:.0f} days, {ratio:.1f}x {shown} {cycle:.0f}-day cycle",
        ),
    ]


def _activity(state: CustomerState, now: datetime) -> list[Signal]:
    if not state.visit_count or state.last_visit_at is None:
        return []
    horizon = now - timedelta(days=30)
    recent = sum(1 for at in state.recent_visits if horizon <= at <= now)
    since = _days(now, state.last_visit_at)
    return [
        Signal(
            "activity",
            0.5,
            log_saturating(recent, VISITS_SATURATION),
            f"{_plural(recent, 'visit')} in the last 30 days" if recent else "no visits in the last 30 days",
        ),
        Signal(
            "activity", 0.5, linear(since, VISIT_STALE_DAYS, VISIT_FRESH_DAYS), f"last visit {since:.0f} days ago"
        ),
    ]


def _financial(state: CustomerState, now: datetime) -> list[Signal]:
    if not state.purchase_count:
        return []
    horizon = now - timedelta(days=90)
    spend = sum(p.amount for p in state.recent_purchases if horizon <= p.at <= now)
    return [
        Signal(
            "financial",
            0.7,
            log_saturating(spend, SPEND_90D_SATURATION),
            f"{spend:,.2f} spent in the last 90 days" if spend else "nothing spent in the last 90 days",
        ),
        Signal(
            "financial",
            0.3,
            log_saturating(state.total_spend, SPEND_LIFETIME_SATURATION),
            f"{state.total_spend:,.2f} spent in total",
        ),
    ]
