"""The weighted health model: signals -> dimensions -> a 0-100 score, tier and reasons.

Each signal is a raw number (days, counts, a ratio) mapped to 0..1 by its
configured normaliser, with a sentence that explains it. A dimension is the
weighted mean of its known signals; the score is the weighted mean of the
known dimensions, so missing data is left out and the weights renormalised
rather than read as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from statistics import median

from schemas.model_config import ScoringModel, TierThresholds
from schemas.outputs import Dimension, DimensionScore, Tier
from scoring.state import HIGH_PRIORITIES, CustomerState
from scoring.windows import in_window, total

DIMENSIONS: tuple[Dimension, ...] = ("satisfaction", "loyalty", "activity", "financial")
SIGNAL_DIMENSION: dict[str, Dimension] = {
    "csat": "satisfaction",
    "nps": "satisfaction",
    "ticket_load": "satisfaction",
    "repeat_purchase": "loyalty",
    "purchase_recency": "loyalty",
    "visit_frequency": "activity",
    "visit_recency": "activity",
    "visit_trend": "activity",
    "spend_90d": "financial",
    "lifetime_spend": "financial",
}
CONCERN_BELOW = 0.6  # a signal under this is worth naming as a reason
MAX_REASONS = 3
MIN_CHANGE_POINTS = 0.5  # smaller movements are not worth explaining
# Cycles overdue after which purchase recency is taken to have bottomed out
# (the default normaliser reaches 0 at 4; a gentler one still moves a little).
SETTLED_CYCLES = 6.0


@dataclass(frozen=True)
class SignalValue:
    name: str
    raw: float
    value: float
    reason: str


@dataclass(frozen=True)
class Assessment:
    score: float
    tier: Tier
    confidence: float
    dimensions: tuple[DimensionScore, ...]
    reasons: tuple[str, ...]
    signals: tuple[SignalValue, ...]
    points: dict[str, float]  # score points each signal contributes
    shares: dict[str, float]  # score points each signal would contribute at value 1


def tier_for(score: float, tiers: TierThresholds) -> Tier:
    if score >= tiers.healthy:
        return "healthy"
    if score >= tiers.watch:
        return "watch"
    if score >= tiers.at_risk:
        return "at_risk"
    return "critical"


def score(state: CustomerState, model: ScoringModel, now: datetime) -> Assessment:
    """Score `state` as of `now`; the same state, model and `now` always give the same result."""
    signals = signals_of(state, model, now)
    config = model.signals
    weights = model.weights
    by_dim: dict[Dimension, list[SignalValue]] = {d: [] for d in DIMENSIONS}
    for s in signals:
        by_dim[SIGNAL_DIMENSION[s.name]].append(s)
    sig_share: dict[str, float] = {}
    values: dict[Dimension, float | None] = {}
    for dim, mine in by_dim.items():
        total_weight = sum(getattr(config, s.name).weight for s in mine)
        for s in mine:
            sig_share[s.name] = getattr(config, s.name).weight / total_weight if total_weight else 0.0
        values[dim] = sum(sig_share[s.name] * s.value for s in mine) if total_weight else None
    known = sum(getattr(weights, d) for d in DIMENSIONS if values[d] is not None)
    dim_share = {d: (getattr(weights, d) / known if known and values[d] is not None else 0.0) for d in DIMENSIONS}
    shares = {s.name: 100.0 * dim_share[SIGNAL_DIMENSION[s.name]] * sig_share[s.name] for s in signals}
    points = {s.name: shares[s.name] * s.value for s in signals}
    dims = tuple(
        DimensionScore(
            name=d,
            value=None if values[d] is None else round(values[d], 4),
            weight=round(dim_share[d], 4),
            contribution=round(100.0 * dim_share[d] * (values[d] or 0.0), 2),
        )
        for d in DIMENSIONS
    )
    final = round(min(100.0, max(0.0, sum(points.values()))), 1)
    all_weight = sum(getattr(weights, d) for d in DIMENSIONS)

    def cost(s: SignalValue) -> float:
        return dim_share[SIGNAL_DIMENSION[s.name]] * sig_share[s.name] * (1.0 - s.value)

    concerns = sorted((s for s in signals if s.value < CONCERN_BELOW), key=cost, reverse=True)
    named = concerns or sorted(signals, key=lambda s: points[s.name], reverse=True)
    return Assessment(
        score=final,
        tier=tier_for(final, model.tiers),
        confidence=round(known / all_weight, 4) if all_weight else 0.0,
        dimensions=dims,
        reasons=tuple(s.reason for s in named[:MAX_REASONS]),
        signals=tuple(signals),
        points=points,
        shares=shares,
    )


def explain_change(previous: dict[str, float], current: Assessment) -> tuple[str, ...]:
    """The signals whose value moved the score since `previous` (signal -> 0..1 value), in plain words.

    Points are this score's share of the signal times its change in value, so
    a signal that did not change is not blamed for a reweighting; a signal
    seen for the first time is marked new.
    """
    moved = []
    for s in current.signals:
        before = previous.get(s.name)
        if before is None:
            moved.append((float("inf"), f"{s.reason} (new)"))
            continue
        delta = current.shares[s.name] * (s.value - before)
        if abs(delta) >= MIN_CHANGE_POINTS:
            moved.append((abs(delta), f"{s.reason} ({delta:+.1f} points)"))
    return tuple(text for _, text in sorted(moved, key=lambda m: m[0], reverse=True)[:MAX_REASONS])


def _days(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() / 86400.0)


def _plural(n: float, word: str) -> str:
    n = int(n)
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def purchase_cycle_days(state: CustomerState, model: ScoringModel) -> float | None:
    """The customer's typical gap between purchases; the median shrugs off one-off gaps. None until two purchases."""
    return _median_gap_days(state.purchase_times)


@lru_cache(maxsize=4096)
def _median_gap_days(times: tuple[datetime, ...]) -> float | None:
    # Cached: one re-score asks for the cycle of the same purchase times five times (signals, CLV, update, review).
    gaps = [(b - a).total_seconds() / 86400.0 for a, b in zip(times, times[1:])]
    gaps = [g for g in gaps if g > 0]
    return median(gaps) if gaps else None


def overdue_ratio(state: CustomerState, model: ScoringModel, now: datetime) -> float | None:
    """Days since the last purchase over the purchase cycle (1.0 = due today); None without purchases."""
    if state.last_purchase_at is None:
        return None
    cycle = purchase_cycle_days(state, model) or model.defaults.purchase_cycle_days
    return _days(now, state.last_purchase_at) / cycle


def signals_of(state: CustomerState, model: ScoringModel, now: datetime) -> list[SignalValue]:
    """Every signal that is known for this customer, normalised, with its reason."""
    return [*_satisfaction(state, model, now), *_loyalty(state, model, now), *_activity(state, model, now),
            *_financial(state, model, now)]  # fmt: skip


def _signal(model: ScoringModel, name: str, raw: float, reason: str) -> SignalValue:
    return SignalValue(name, raw, getattr(model.signals, name).normaliser(raw), reason)


def _satisfaction(state: CustomerState, model: ScoringModel, now: datetime) -> list[SignalValue]:
    out = []
    if state.csat:
        avg = sum(a.score for a in state.csat) / len(state.csat)
        out.append(_signal(model, "csat", avg, f"CSAT averages {avg:.1f}/5 over the last {_plural(len(state.csat), 'survey')}"))
    if state.nps is not None:
        nps = state.nps.score
        category = "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"
        out.append(_signal(model, "nps", nps, f"latest NPS is {nps} ({category})"))
    if state.tickets_opened:
        load = model.ticket_load
        high = [t for t in state.open_tickets if t.priority in HIGH_PRIORITIES]
        other = len(state.open_tickets) - len(high)
        complaints = total(in_window(state.buckets, now, int(load.complaint_days)), "complaints")
        raw = load.high_priority * len(high) + load.other * other + load.complaint * complaints
        parts = []
        if high:
            age = _days(now, min(t.opened_at for t in high))
            since = "opened today" if age < 1 else f"oldest open for {age:.0f} days"
            parts.append(f"{_plural(len(high), 'high-priority ticket')} open, {since}")
        if other:
            parts.append(f"{_plural(other, 'other ticket')} open")
        if complaints:
            parts.append(f"{_plural(complaints, 'complaint')} in the last {load.complaint_days:.0f} days")
        out.append(_signal(model, "ticket_load", raw, "; ".join(parts) or "no open tickets or recent complaints"))
    return out


def _loyalty(state: CustomerState, model: ScoringModel, now: datetime) -> list[SignalValue]:
    ratio = overdue_ratio(state, model, now)
    if ratio is None or state.last_purchase_at is None:
        return []
    cycle = purchase_cycle_days(state, model)
    shown = f"the usual {cycle:.0f}-day cycle" if cycle else f"an assumed {model.defaults.purchase_cycle_days:.0f}-day cycle"
    since = _days(now, state.last_purchase_at)
    return [
        _signal(model, "repeat_purchase", state.purchase_count, f"{_plural(state.purchase_count, 'purchase')} so far"),
        _signal(model, "purchase_recency", ratio, f"no purchase for {since:.0f} days, {ratio:.1f}x {shown}"),
    ]


def _activity(state: CustomerState, model: ScoringModel, now: datetime) -> list[SignalValue]:
    if state.last_visit_at is None:
        return []
    recent = total(in_window(state.buckets, now, 30), "visits")
    before = total(in_window(state.buckets, now, 30, skip_days=30), "visits")
    since = _days(now, state.last_visit_at)
    out = [
        _signal(model, "visit_frequency", recent,
                f"{_plural(recent, 'visit')} in the last 30 days" if recent else "no visits in the last 30 days"),
        _signal(model, "visit_recency", since, f"last visit {since:.0f} days ago"),
    ]  # fmt: skip
    if before:
        ratio = recent / before
        direction = "down" if ratio < 1 else "up" if ratio > 1 else "level"
        out.append(_signal(model, "visit_trend", ratio,
                           f"visits {direction}: {recent:.0f} in the last 30 days against {before:.0f} in the 30 before"))  # fmt: skip
    return out


def _financial(state: CustomerState, model: ScoringModel, now: datetime) -> list[SignalValue]:
    if not state.purchase_count:
        return []
    spend = total(in_window(state.buckets, now, 90), "spend")
    return [
        _signal(model, "spend_90d", spend,
                f"{spend:,.2f} spent in the last 90 days" if spend else "nothing spent in the last 90 days"),
        _signal(model, "lifetime_spend", state.total_spend, f"{state.total_spend:,.2f} spent in total"),
    ]  # fmt: skip


def settles_at(state: CustomerState, model: ScoringModel) -> datetime | None:
    """When time alone stops moving this customer's score: every recency signal bottomed out, every window empty."""
    if state.last_event_at is None:
        return None
    ends = [state.last_event_at + timedelta(days=90)]
    if state.last_purchase_at is not None:
        cycle = purchase_cycle_days(state, model) or model.defaults.purchase_cycle_days
        ends.append(state.last_purchase_at + timedelta(days=cycle * SETTLED_CYCLES))
    if state.last_visit_at is not None:
        ends.append(state.last_visit_at + timedelta(days=90))
    stale = model.alerts.triggers.stale_ticket
    ends += [t.opened_at + timedelta(days=stale.days) for t in state.open_tickets if t.priority in HIGH_PRIORITIES]
    return max(ends)
