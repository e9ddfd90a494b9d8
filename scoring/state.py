"""Per-customer state and the pure fold that applies one event to it.

State stays bounded per customer: recent lists are cut to the longest window
any signal reads and to a fixed length, so a customer with a million events
costs no more than one with a hundred.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from schemas.common import Instant
from schemas.events import Event, PurchaseEvent, SurveyEvent, TicketEvent, TicketPriority, VisitEvent
from schemas.outputs import Tier

# The longest look-back of any signal; older detail only survives in totals.
WINDOW = timedelta(days=90)
# How many recent event ids a customer remembers for deduplication; a
# redelivery after a rebalance arrives within a few hundred events.
DEDUP_MEMORY = 256
MAX_RECENT = 200
MAX_GAPS = 12
MAX_CSAT = 5
HIGH_PRIORITIES: frozenset[TicketPriority] = frozenset({"high", "urgent"})


class Purchase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: Instant
    amount: float


class OpenTicket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ticket_id: str
    priority: TicketPriority
    opened_at: Instant


class AlertMemory(BaseModel):
    """What the alert policy must remember between scores: level and last alert."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: Tier | None = None
    last_alert_at: Instant | None = None
    last_alert_tier: Tier | None = None


class CustomerState(BaseModel):
    """Everything healthscore knows of one customer, as of its newest event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    first_seen: Instant | None = None
    last_event_at: Instant | None = None
    event_count: int = 0
    recent_event_ids: tuple[str, ...] = ()

    purchase_count: int = 0
    total_spend: float = 0.0
    last_purchase_at: Instant | None = None
    recent_purchases: tuple[Purchase, ...] = ()
    purchase_gaps_days: tuple[float, ...] = ()

    visit_count: int = 0
    last_visit_at: Instant | None = None
    recent_visits: tuple[Instant, ...] = ()

    tickets_opened: int = 0
    open_tickets: tuple[OpenTicket, ...] = ()
    recent_complaints: tuple[Instant, ...] = ()

    recent_csat: tuple[int, ...] = ()
    nps_latest: int | None = None
    nps_at: Instant | None = None

    last_score: float | None = None
    last_tier: Tier | None = None
    last_scored_at: Instant | None = None
    alert: AlertMemory = AlertMemory()


def new_state(customer_id: str) -> CustomerState:
    return CustomerState(customer_id=customer_id)


def apply_event(state: CustomerState, event: Event) -> tuple[CustomerState, bool]:
    """Fold `event` into `state`; returns the state and False when the event_id was already applied."""
    if event.event_id in state.recent_event_ids:
        return state, False
    at = event.occurred_at
    newest = max(at, state.last_event_at) if state.last_event_at else at
    changes: dict[str, object] = {
        "first_seen": min(at, state.first_seen) if state.first_seen else at,
        "last_event_at": newest,
        "event_count": state.event_count + 1,
        "recent_event_ids": (*state.recent_event_ids, event.event_id)[-DEDUP_MEMORY:],
    }
    if isinstance(event, PurchaseEvent):
        changes |= _purchase(state, event, newest)
    elif isinstance(event, VisitEvent):
        changes |= _visit(state, event, newest)
    elif isinstance(event, TicketEvent):
        changes |= _ticket(state, event, newest)
    elif isinstance(event, SurveyEvent):
        changes |= _survey(state, event)
    return state.model_copy(update=changes), True


def _recent(items: tuple, newest: datetime, at_of=lambda item: item) -> tuple:
    """Keep what falls inside WINDOW of `newest`, at most MAX_RECENT, oldest first."""
    horizon = newest - WINDOW
    kept = sorted((item for item in items if at_of(item) >= horizon), key=at_of)
    return tuple(kept[-MAX_RECENT:])


def _purchase(state: CustomerState, event: PurchaseEvent, newest: datetime) -> dict[str, object]:
    at = event.occurred_at
    gaps = state.purchase_gaps_days
    last = state.last_purchase_at
    if last is not None and at > last:
        # Only in-order purchases lengthen the cycle history; a late one still
        # counts in totals and windows.
        gaps = (*gaps, (at - last).total_seconds() / 86400.0)[-MAX_GAPS:]
    return {
        "purchase_count": state.purchase_count + 1,
        "total_spend": state.total_spend + event.amount,
        "last_purchase_at": max(at, last) if last else at,
        "purchase_gaps_days": gaps,
        "recent_purchases": _recent(
            (*state.recent_purchases, Purchase(at=at, amount=event.amount)), newest, lambda p: p.at
        ),
    }


def _visit(state: CustomerState, event: VisitEvent, newest: datetime) -> dict[str, object]:
    at = event.occurred_at
    return {
        "visit_count": state.visit_count + 1,
        "last_visit_at": max(at, state.last_visit_at) if state.last_visit_at else at,
        "recent_visits": _recent((*state.recent_visits, at), newest),
    }


def _ticket(state: CustomerState, event: TicketEvent, newest: datetime) -> dict[str, object]:
    others = tuple(t for t in state.open_tickets if t.ticket_id != event.ticket_id)
    if event.action == "resolved":
        return {"open_tickets": others}
    changes: dict[str, object] = {
        "tickets_opened": state.tickets_opened + 1,
        "open_tickets": (
            *others,
            OpenTicket(ticket_id=event.ticket_id, priority=event.priority, opened_at=event.occurred_at),
        )[-MAX_RECENT:],
    }
    if event.category == "complaint":
        changes["recent_complaints"] = _recent((*state.recent_complaints, event.occurred_at), newest)
    return changes


def _survey(state: CustomerState, event: SurveyEvent) -> dict[str, object]:
    if event.survey_type == "csat":
        return {"recent_csat": (*state.recent_csat, event.score)[-MAX_CSAT:]}
    if state.nps_at is not None and event.occurred_at < state.nps_at:
        return {}  # a late answer does not replace a newer one
    return {"nps_latest": event.score, "nps_at": event.occurred_at}
