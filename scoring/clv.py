"""Customer value: a simple 12-month CLV and the value-and-health segments.

CLV here is deliberately simple and explainable, not a fitted BG/NBD:

    expected purchases in 12 months = P(alive) x 365 / cycle
    CLV_12m = expected purchases x average order value

`cycle` is the customer's own median gap between purchases, or for a
one-time buyer `one_time_cycle_days` (most one-time buyers never return, so
the prior is long). P(alive) = 1 while a purchase is not overdue, then
halves for every `alive_half_life` cycles overdue. benchmarks/clv_vs_lifetimes.py
compares it with lifetimes' BG/NBD + Gamma-Gamma on the CDNOW log.
"""

from __future__ import annotations

from schemas.model_config import ScoringModel
from schemas.outputs import Segment, Tier
from scoring.instants import US_PER_DAY, days_since
from scoring.state import CustomerState

ONE_TIME_CYCLE_DAYS = 180.0
ONE_TIME_RETURN = 0.2  # share of one-time buyers expected to buy again at all
ALIVE_HALF_LIFE = 1.0  # cycles overdue that halve the chance the customer still buys


def clv_12m(state: CustomerState, model: ScoringModel, now: int) -> float:
    """Expected spend over the next 12 months, in the purchases' currency; `now` in microseconds."""
    if not state.purchase_count or state.last_purchase_at is None:
        return 0.0
    own_cycle = state.purchase_cycle_days
    cycle = own_cycle or ONE_TIME_CYCLE_DAYS
    average_order = state.total_spend / 1_000_000 / state.purchase_count
    since = days_since(now, state.last_purchase_at)
    p_alive: float = 0.5 ** (max(0.0, since / cycle - 1.0) / ALIVE_HALF_LIFE)
    returns = 1.0 if own_cycle else ONE_TIME_RETURN  # most one-time buyers never come back
    return round(returns * p_alive * 365.0 / cycle * average_order, 2)


def segment_for(state: CustomerState, tier: Tier, clv: float, model: ScoringModel, now: int) -> Segment:
    """One segment per customer, first match wins: dormant, (high_value_)at_risk, new, loyal, high_potential, steady."""
    rules = model.segments
    last = state.last_event_at if state.last_event_at is not None else now
    if now - last >= rules.dormant_days * US_PER_DAY:
        return "dormant"
    high_value = clv >= rules.high_value_clv
    if tier in ("at_risk", "critical"):
        return "high_value_at_risk" if high_value else "at_risk"
    if state.first_seen is not None and now - state.first_seen < rules.new_days * US_PER_DAY:
        return "new"
    if state.purchase_count >= rules.loyal_purchases and tier == "healthy":
        return "loyal"
    if high_value:
        return "high_potential"
    return "steady"
