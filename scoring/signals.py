"""The signal registry: every signal the health model knows, one entry each.

An entry names the signal and its dimension, reads its raw value from the
customer's state (through `Facts`, the quantities several signals share,
worked out once per score), and words the reason a person reads. The model
file (schemas/model_config.py) gives each signal its weight and normaliser;
the docs' signal table is checked against this registry by a test. A raw
value of None means the customer has no such signal yet: it is left out and
the weights renormalised, rather than read as zero.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from schemas.model_config import ScoringModel
from schemas.outputs import Dimension
from scoring.instants import US_PER_DAY, days_since
from scoring.state import HIGH_PRIORITIES, CustomerState

DIMENSIONS: tuple[Dimension, ...] = ("satisfaction", "loyalty", "activity", "financial")
VISIT_WINDOW_DAYS = 30  # visits counted for frequency; the trend compares them with the 30 days before
SPEND_WINDOW_DAYS = 90


def plural(n: float, word: str) -> str:
    n = int(n)
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def expected_cycle_days(state: CustomerState, model: ScoringModel) -> float:
    """The gap after which a purchase is due: the customer's own cycle, or the model's default before two purchases."""
    return state.purchase_cycle_days or model.defaults.purchase_cycle_days


class Facts:
    """What the signals of one customer at one moment are read from; each quantity worked out once."""

    __slots__ = (
        "state",
        "model",
        "now",
        "today",
        "since_purchase",
        "cycle",
        "ratio",
        "recent_visits",
        "earlier_visits",
        "since_visit",
        "high_tickets",
        "other_tickets",
        "complaints",
        "spend_90d",
    )

    def __init__(self, state: CustomerState, model: ScoringModel, now: int) -> None:
        self.state, self.model, self.now = state, model, now
        self.today = today = now // US_PER_DAY
        buckets = state.buckets
        days = buckets.day
        # Every window ends today: one bisect finds that end for all of them.
        end = len(days) if not days or days[-1] <= today else bisect_right(days, today)
        if state.last_purchase_at is not None:
            self.since_purchase = days_since(now, state.last_purchase_at)
            self.cycle = state.purchase_cycle_days
            self.ratio: float | None = self.since_purchase / expected_cycle_days(state, model)
            start = bisect_right(days, today - SPEND_WINDOW_DAYS, 0, end)
            self.spend_90d = sum(buckets.spend[start:end]) / 1_000_000
        else:
            self.ratio = None
        if state.last_visit_at is not None:
            self.since_visit = days_since(now, state.last_visit_at)
            middle = bisect_right(days, today - VISIT_WINDOW_DAYS, 0, end)
            start = bisect_right(days, today - 2 * VISIT_WINDOW_DAYS, 0, middle)
            visits = buckets.visits
            self.recent_visits = sum(visits[middle:end])
            self.earlier_visits = sum(visits[start:middle])
        if state.tickets_opened:
            self.high_tickets = [t for t in state.open_tickets if t.priority in HIGH_PRIORITIES]
            self.other_tickets = len(state.open_tickets) - len(self.high_tickets)
            start = bisect_right(days, today - int(model.ticket_load.complaint_days), 0, end)
            self.complaints = sum(buckets.complaints[start:end])


@dataclass(frozen=True)
class SignalSpec:
    """One signal: where it belongs, how its raw value is read, and how its reason is worded."""

    name: str
    dimension: Dimension
    raw: Callable[[Facts], float | None]
    reason: Callable[[Facts, float], str]
    measures: str  # what the raw value is, in the docs' words


def _ticket_load(f: Facts) -> float | None:
    if not f.state.tickets_opened:
        return None
    load = f.model.ticket_load
    return load.high_priority * len(f.high_tickets) + load.other * f.other_tickets + load.complaint * f.complaints


def _ticket_reason(f: Facts, raw: float) -> str:
    parts = []
    if f.high_tickets:
        age = days_since(f.now, min(t.opened_at for t in f.high_tickets))
        since = "opened today" if age < 1 else f"oldest open for {age:.0f} days"
        parts.append(f"{plural(len(f.high_tickets), 'high-priority ticket')} open, {since}")
    if f.other_tickets:
        parts.append(f"{plural(f.other_tickets, 'other ticket')} open")
    if f.complaints:
        parts.append(f"{plural(f.complaints, 'complaint')} in the last {f.model.ticket_load.complaint_days:.0f} days")
    return "; ".join(parts) or "no open tickets or recent complaints"


def _nps_reason(f: Facts, raw: float) -> str:
    nps = int(raw)
    category = "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"
    return f"latest NPS is {nps} ({category})"


def _recency_reason(f: Facts, raw: float) -> str:
    cycle = expected_cycle_days(f.state, f.model)
    shown = f"the usual {cycle:.0f}-day cycle" if f.cycle else f"an assumed {cycle:.0f}-day cycle"
    return f"no purchase for {f.since_purchase:.0f} days, {raw:.1f}x {shown}"


def _trend_reason(f: Facts, raw: float) -> str:
    direction = "down" if raw < 1 else "up" if raw > 1 else "level"
    return (
        f"visits {direction}: {f.recent_visits:.0f} in the last 30 days against {f.earlier_visits:.0f} in the 30 before"
    )


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        "csat",
        "satisfaction",
        lambda f: sum(a.score for a in f.state.csat) / len(f.state.csat) if f.state.csat else None,
        lambda f, raw: f"CSAT averages {raw:.1f}/5 over the last {plural(len(f.state.csat), 'survey')}",
        "mean of the last 5 CSAT answers",
    ),
    SignalSpec(
        "nps",
        "satisfaction",
        lambda f: f.state.nps.score if f.state.nps is not None else None,
        _nps_reason,
        "latest NPS answer",
    ),
    SignalSpec(
        "ticket_load",
        "satisfaction",
        _ticket_load,
        _ticket_reason,
        "0.25 per open high/urgent ticket + 0.10 per other open ticket + 0.20 per complaint in 90 days",
    ),
    SignalSpec(
        "repeat_purchase",
        "loyalty",
        lambda f: f.state.purchase_count if f.ratio is not None else None,
        lambda f, raw: f"{plural(raw, 'purchase')} so far",
        "lifetime purchases",
    ),
    SignalSpec(
        "purchase_recency",
        "loyalty",
        lambda f: f.ratio,
        _recency_reason,
        "days since the last purchase / the customer's purchase cycle",
    ),
    SignalSpec(
        "visit_frequency",
        "activity",
        lambda f: f.recent_visits if f.state.last_visit_at is not None else None,
        lambda f, raw: f"{plural(raw, 'visit')} in the last 30 days" if raw else "no visits in the last 30 days",
        "visits in the last 30 days",
    ),
    SignalSpec(
        "visit_recency",
        "activity",
        lambda f: f.since_visit if f.state.last_visit_at is not None else None,
        lambda f, raw: f"last visit {raw:.0f} days ago",
        "days since the last visit",
    ),
    SignalSpec(
        "visit_trend",
        "activity",
        lambda f: (
            f.recent_visits / f.earlier_visits if f.state.last_visit_at is not None and f.earlier_visits else None
        ),
        _trend_reason,
        "visits in the last 30 days / visits in the 30 before (when there were any)",
    ),
    SignalSpec(
        "spend_90d",
        "financial",
        lambda f: f.spend_90d if f.state.purchase_count else None,
        lambda f, raw: f"{raw:,.2f} spent in the last 90 days" if raw else "nothing spent in the last 90 days",
        "spend in the last 90 days",
    ),
    SignalSpec(
        "lifetime_spend",
        "financial",
        lambda f: f.state.total_spend / 1_000_000 if f.state.purchase_count else None,
        lambda f, raw: f"{raw:,.2f} spent in total",
        "lifetime spend",
    ),
)
SIGNAL_DIMENSION: dict[str, Dimension] = {s.name: s.dimension for s in SIGNALS}
