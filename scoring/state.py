"""Per-customer state and the fold that applies one event to it.

State stays bounded per customer: day buckets for the rolling windows
(scoring/windows.py), the recent event ids (scoring/seen.py), and short
sorted lists for purchase times, CSAT answers, open tickets and the score
history. Sorting by event time (not arrival) makes the fold give the same
state for the same events in any order inside the horizon.

The state is a msgspec Struct of plain values (instants as microseconds,
money as micro-units): cheap to decode, change in place and encode, which
the worker does once per customer per batch (streams/kafka/codecs.py).
`fold` changes a state in place; `apply_event` is the pure form, for
callers that keep the state they had.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable
from datetime import date, datetime
from statistics import median
from typing import TypeVar

import msgspec

from schemas.events import Event, ProfileEvent, PurchaseEvent, SurveyEvent, TicketEvent, VisitEvent
from scoring.instants import US_PER_DAY, days, hours, to_us
from scoring.seen import DEDUP_MEMORY, content_digest, recall, remember, time_of  # noqa: F401 - DEDUP_MEMORY re-exported
from scoring.windows import Buckets, micros

MAX_PURCHASE_TIMES = 13  # 12 gaps: enough for a median that shrugs off one-off gaps
MAX_CSAT = 5
MAX_OPEN_TICKETS = 50
MAX_RESOLVE_TIMES = 10
MAX_HISTORY_DAYS = 35  # score history for the 7- and 30-day movements
HIGH_PRIORITIES = frozenset({"high", "urgent"})

T = TypeVar("T")


class OpenTicket(msgspec.Struct, array_like=True):
    ticket_id: str
    priority: str
    opened_at: int


class ClosedTicket(msgspec.Struct, array_like=True):
    ticket_id: str
    at: int


class Answer(msgspec.Struct, array_like=True):
    at: int
    score: int


class Resolution(msgspec.Struct, array_like=True):
    at: int
    hours: float


class Profile(msgspec.Struct):
    """The customer's newest profile, shaped as schemas.events.CustomerProfile (ScoreUpdates carry it as it is)."""

    plan: str | None = None
    company_size: str | None = None
    industry: str | None = None
    lifecycle_stage: str | None = None
    contract_value: float | None = None
    renewal_date: date | None = None
    updated_at: datetime | None = None  # occurred_at of the profile event it comes from


class Override(msgspec.Struct, kw_only=True):
    """A person's correction in force, shaped as schemas.control.OverrideRequest (ScoreUpdates carry it)."""

    request_id: str
    customer_id: str
    action: str
    score: float | None = None
    tier: str | None = None
    adjustment: float | None = None
    reason: str
    author: str
    requested_at: datetime
    expires_at: datetime | None = None


class AlertMemory(msgspec.Struct, array_like=True):
    """What the alert policy remembers between scores, per trigger."""

    level: str | None = None  # current risk level, with hysteresis
    last_alert_at: dict[str, int] = {}  # trigger -> when it last fired
    last_alert_tier: dict[str, str] = {}  # trigger -> the tier it last fired at
    overdue_alerted_for: int | None = None  # last purchase an overdue alert was raised for
    detractor_alerted_for: int | None = None  # NPS answer a detractor alert was raised for
    stale_tickets_alerted: list[str] = []
    renewal_alerted_for: date | None = None  # renewal date a renewal-risk alert was raised for


class CustomerState(msgspec.Struct, array_like=True):
    """Everything healthscore knows of one customer, as of its newest event; instants in microseconds."""

    customer_id: str
    first_seen: int | None = None
    last_event_at: int | None = None
    event_count: int = 0
    seen: bytes = b""  # the dedup memory (scoring/seen.py)
    buckets: Buckets = msgspec.field(default_factory=Buckets)

    purchase_count: int = 0
    total_spend: int = 0  # micro-units
    purchase_times: list[int] = []  # sorted; the newest MAX_PURCHASE_TIMES
    purchase_cycle_days: float | None = None  # median gap of purchase_times, kept with them
    last_purchase_at: int | None = None

    visit_count: int = 0
    visit_seconds: int = 0  # microseconds
    last_visit_at: int | None = None

    tickets_opened: int = 0
    complaints: int = 0
    open_tickets: list[OpenTicket] = []  # sorted by (opened_at, ticket_id)
    closed_tickets: list[ClosedTicket] = []  # so a late "opened" does not reopen a resolved ticket
    resolutions: list[Resolution] = []
    last_ticket_at: int | None = None

    csat: list[Answer] = []  # sorted by (at, score); the newest MAX_CSAT
    nps: Answer | None = None
    last_survey_at: int | None = None

    last_score: float | None = None
    last_tier: str | None = None
    last_scored_at: int | None = None
    last_signals: dict[str, float] = {}  # signal -> 0..1 value at the last score, rounded to 4 places
    history_day: list[int] = []  # one point per day (the day's latest score), the last MAX_HISTORY_DAYS
    history_score: list[float] = []
    alert: AlertMemory = msgspec.field(default_factory=AlertMemory)
    profile: Profile | None = None  # the newest by occurred_at; not behaviour, so not in event_count
    override: Override | None = None  # a person's correction, until cleared or expired
    # The customer's last ScoreUpdate as published (JSON), kept only while the snapshot store may lack it;
    # the worker fills and empties it (streams/worker/scorer.py), scoring never reads it.
    unconfirmed_update: bytes = b""

    @property
    def total_spend_amount(self) -> float:
        return self.total_spend / 1_000_000


def new_state(customer_id: str) -> CustomerState:
    return CustomerState(customer_id=customer_id)


def copy_state(state: CustomerState) -> CustomerState:
    """A deep copy, for callers that keep the state they had while a copy is changed in place."""
    return _DECODER.decode(_ENCODER.encode(state))


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(CustomerState)


def already_seen(state: CustomerState, event_id: str) -> bool:
    """Whether an event with this id is in the dedup memory, whatever time it carried."""
    return recall(state.seen, event_id) is not None


def digest_of(event: Event) -> bytes:
    """The content digest the dedup memory keeps for an event (scoring/seen.py)."""
    return content_digest(event.__dict__)


def apply_event(state: CustomerState, event: Event) -> tuple[CustomerState, bool]:
    """A new state with `event` folded in, and False (the state unchanged) when its id was already applied."""
    if already_seen(state, event.event_id):
        return state, False
    changed = copy_state(state)
    fold(changed, event, digest_of(event))
    return changed, True


def fold(state: CustomerState, event: Event, content: bytes) -> None:
    """Fold an event not yet applied (see scoring.seen.recall) into `state`, in place."""
    at = to_us(event.occurred_at)
    state.seen = remember(state.seen, time_of(at), event.event_id, content)
    if event.kind == "profile":
        _profile(state, event)
        return
    if state.first_seen is None or at < state.first_seen:
        state.first_seen = at
    if state.last_event_at is None or at > state.last_event_at:
        state.last_event_at = at
    state.event_count += 1
    day, newest_day = at // US_PER_DAY, state.last_event_at // US_PER_DAY
    if event.kind == "purchase":
        _purchase(state, event, at, day, newest_day)
    elif event.kind == "visit":
        _visit(state, event, at, day, newest_day)
    elif event.kind == "ticket":
        _ticket(state, event, at, day, newest_day)
    else:
        _survey(state, event, at)
        state.buckets.prune(newest_day)


def _profile(state: CustomerState, event: ProfileEvent) -> None:
    """Keep the profile if it is the newest; behaviour is untouched."""
    profile = Profile(
        plan=event.plan,
        company_size=event.company_size,
        industry=event.industry,
        lifecycle_stage=event.lifecycle_stage,
        contract_value=event.contract_value,
        renewal_date=event.renewal_date,
        updated_at=event.occurred_at,
    )
    current = state.profile
    # Newest wins; two at the same instant are ordered by content, so arrival order never matters.
    if current is None or (profile.updated_at, _ENCODER.encode(profile)) > (
        current.updated_at,
        _ENCODER.encode(current),
    ):
        state.profile = profile


def _purchase(state: CustomerState, event: PurchaseEvent, at: int, day: int, newest_day: int) -> None:
    amount = micros(event.amount)
    state.purchase_count += 1
    state.total_spend += amount
    if state.last_purchase_at is None or at > state.last_purchase_at:
        state.last_purchase_at = at
    # The cycle needs a longer memory than the windows: the latest purchase
    # times whenever they were, sorted, so arrival order does not matter.
    times = state.purchase_times
    insort(times, at)
    if len(times) > MAX_PURCHASE_TIMES:
        del times[0]
    state.purchase_cycle_days = median_gap_days(times)
    state.buckets.add(day, newest_day, (("purchases", 1), ("spend", amount)))


def median_gap_days(times: list[int]) -> float | None:
    """The typical gap between purchases; the median shrugs off one-off gaps. None until two purchases."""
    gaps = [days(b, a) for a, b in zip(times, times[1:]) if b > a]
    return median(gaps) if gaps else None


def _visit(state: CustomerState, event: VisitEvent, at: int, day: int, newest_day: int) -> None:
    seconds = micros(event.duration_seconds)
    state.visit_count += 1
    state.visit_seconds += seconds
    if state.last_visit_at is None or at > state.last_visit_at:
        state.last_visit_at = at
    state.buckets.add(day, newest_day, (("visits", 1), ("visit_seconds", seconds)))


def _ticket(state: CustomerState, event: TicketEvent, at: int, day: int, newest_day: int) -> None:
    """Open or close a ticket; either end may arrive first and the result is the same."""
    if state.last_ticket_at is None or at > state.last_ticket_at:
        state.last_ticket_at = at
    ticket_id = event.ticket_id
    if event.action == "resolved":
        opened = next((t for t in state.open_tickets if t.ticket_id == ticket_id), None)
        if opened is not None:
            state.open_tickets = [t for t in state.open_tickets if t.ticket_id != ticket_id]
            _resolved(state, opened.opened_at, at)
        _sorted_tail(state.closed_tickets, ClosedTicket(ticket_id, at), (at, ticket_id), lambda t: (t.at, t.ticket_id))
        state.buckets.prune(newest_day)
        return
    high = event.priority in HIGH_PRIORITIES
    complaint = event.category == "complaint"
    state.tickets_opened += 1
    state.complaints += complaint
    state.buckets.add(
        day, newest_day, (("tickets_opened", 1), ("high_priority_opened", int(high)), ("complaints", int(complaint)))
    )
    closed_at = next((c.at for c in state.closed_tickets if c.ticket_id == ticket_id), None)
    if closed_at is not None:
        _resolved(state, at, closed_at)
    elif not any(t.ticket_id == ticket_id for t in state.open_tickets):
        ticket = OpenTicket(ticket_id, event.priority, at)
        _sorted_tail(state.open_tickets, ticket, (at, ticket_id), lambda t: (t.opened_at, t.ticket_id))


def _sorted_tail(items: list[T], item: T, key: tuple[int, str], key_of: Callable[[T], tuple[int, str]]) -> None:
    """Insert `item` in `key` order, keeping the MAX_OPEN_TICKETS latest: bounded, the same in any arrival order."""
    at = len(items)
    while at and key_of(items[at - 1]) > key:
        at -= 1
    items.insert(at, item)
    if len(items) > MAX_OPEN_TICKETS:
        del items[0]


def _resolved(state: CustomerState, opened_at: int, resolved_at: int) -> None:
    done = Resolution(resolved_at, max(0.0, hours(resolved_at, opened_at)))
    resolutions = state.resolutions
    at = len(resolutions)
    while at and (resolutions[at - 1].at, resolutions[at - 1].hours) > (done.at, done.hours):
        at -= 1
    resolutions.insert(at, done)
    if len(resolutions) > MAX_RESOLVE_TIMES:
        del resolutions[0]


def _survey(state: CustomerState, event: SurveyEvent, at: int) -> None:
    if state.last_survey_at is None or at > state.last_survey_at:
        state.last_survey_at = at
    answer = Answer(at, event.score)
    if event.survey_type == "csat":
        answers = state.csat
        spot = len(answers)
        while spot and (answers[spot - 1].at, answers[spot - 1].score) > (at, event.score):
            spot -= 1
        answers.insert(spot, answer)
        if len(answers) > MAX_CSAT:
            del answers[0]
    elif state.nps is None or (at, event.score) > (state.nps.at, state.nps.score):
        state.nps = answer  # a late answer does not replace a newer one
