"""Per-customer state and the pure fold that applies one event to it.

State stays bounded per customer: day buckets for the rolling windows, and
short, sorted lists for purchase times, CSAT answers, open tickets and
recent event ids. Sorting by event time (not arrival) makes the fold give
the same state for the same events in any order inside the horizon.
"""

from __future__ import annotations

import base64
from bisect import insort
import hashlib
from collections.abc import Callable
from functools import lru_cache
from datetime import date, datetime
from operator import itemgetter

from pydantic import BaseModel, ConfigDict, field_validator

from schemas.common import Instant
from schemas.control import OverrideRequest
from schemas.events import (
    CustomerProfile,
    Event,
    ProfileEvent,
    PurchaseEvent,
    SurveyEvent,
    TicketEvent,
    TicketPriority,
    VisitEvent,
)
from schemas.outputs import Tier
from scoring.windows import SUM_DECIMALS, DayBucket, add_to_buckets, day_of

# Recent event ids kept for deduplication; a redelivery after a rebalance
# arrives within a few hundred of the customer's events.
DEDUP_MEMORY = 256
# Each remembered id is a 64-bit digest: a chance of about 1 in 10^14 that a
# new event among 256 remembered ones is taken for a duplicate.
DIGEST_BYTES = 8
MAX_PURCHASE_TIMES = 13  # 12 gaps: enough for a median that shrugs off one-off gaps
MAX_CSAT = 5
MAX_OPEN_TICKETS = 50
MAX_RESOLVE_TIMES = 10
MAX_HISTORY_DAYS = 35  # score history for the 7- and 30-day movements
HIGH_PRIORITIES: frozenset[TicketPriority] = frozenset({"high", "urgent"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenTicket(_Frozen):
    ticket_id: str
    priority: TicketPriority
    opened_at: Instant


class Answer(_Frozen):
    at: Instant
    score: int


# A remembered event: (event time in whole UTC seconds, digest of its id, digest of its content).
# About 36 bytes of JSON where the time and id in full took about 95: the
# dedup memory is most of a busy customer's stored state. The content digest
# tells an exact redelivery (a quiet duplicate) from a different payload
# under a known id (an upstream bug); "" where it is not known (states
# stored before it was kept, override markers).
SeenEvent = tuple[int, str, str]
# 32 bits: a conflicting payload passes for a redelivery about once in 4 billion.
CONTENT_DIGEST_BYTES = 4


# Each event's id is digested twice (the duplicate check, then the memory):
# a small cache makes the second a lookup.
DIGEST_CACHE = 1024


@lru_cache(maxsize=DIGEST_CACHE)
def id_digest(event_id: str) -> str:
    digest = hashlib.blake2b(event_id.encode("utf-8"), digest_size=DIGEST_BYTES).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def content_digest(event: Event) -> str:
    """A short digest of the event's validated content: the same for every redelivery of the same event."""
    digest = hashlib.blake2b(event.model_dump_json().encode("utf-8"), digest_size=CONTENT_DIGEST_BYTES).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class ClosedTicket(_Frozen):
    ticket_id: str
    at: Instant


class Resolution(_Frozen):
    at: Instant
    hours: float


class HistoryPoint(_Frozen):
    day: int
    score: float


class AlertMemory(_Frozen):
    """What the alert policy remembers between scores, per trigger."""

    level: Tier | None = None  # current risk level, with hysteresis
    last_alert_at: dict[str, Instant] = {}  # trigger -> when it last fired
    last_alert_tier: dict[str, Tier] = {}  # trigger -> the tier it last fired at
    overdue_alerted_for: Instant | None = None  # last purchase an overdue alert was raised for
    detractor_alerted_for: Instant | None = None  # NPS answer a detractor alert was raised for
    stale_tickets_alerted: tuple[str, ...] = ()
    renewal_alerted_for: date | None = None  # renewal date a renewal-risk alert was raised for


class CustomerState(_Frozen):
    """Everything healthscore knows of one customer, as of its newest event."""

    customer_id: str
    first_seen: Instant | None = None
    last_event_at: Instant | None = None
    event_count: int = 0
    seen: tuple[SeenEvent, ...] = ()  # sorted by (time, digest); the newest DEDUP_MEMORY

    buckets: tuple[DayBucket, ...] = ()

    purchase_count: int = 0
    total_spend: float = 0.0
    purchase_times: tuple[Instant, ...] = ()
    last_purchase_at: Instant | None = None

    visit_count: int = 0
    visit_seconds: float = 0.0
    last_visit_at: Instant | None = None

    tickets_opened: int = 0
    complaints: int = 0
    open_tickets: tuple[OpenTicket, ...] = ()
    closed_tickets: tuple[ClosedTicket, ...] = ()  # so a late "opened" does not reopen a resolved ticket
    resolutions: tuple[Resolution, ...] = ()
    last_ticket_at: Instant | None = None

    csat: tuple[Answer, ...] = ()
    nps: Answer | None = None
    last_survey_at: Instant | None = None

    last_score: float | None = None
    last_tier: Tier | None = None
    last_scored_at: Instant | None = None
    last_signals: dict[str, float] = {}
    history: tuple[HistoryPoint, ...] = ()
    alert: AlertMemory = AlertMemory()
    profile: CustomerProfile | None = None  # the newest by occurred_at; not behaviour, so not in event_count
    override: OverrideRequest | None = None  # a person's correction, until cleared or expired

    @field_validator("seen", mode="before")
    @classmethod
    def _read_older_memories(cls, seen: object) -> object:
        """Read the dedup memory of states stored by earlier versions, nothing forgotten.

        The first held {at, event_id} objects; the next (time, id digest) pairs,
        without the content digest: their content is taken as not known.
        """
        if not isinstance(seen, (list, tuple)) or not seen:
            return seen
        if isinstance(seen[0], dict):
            return sorted((int(datetime.fromisoformat(s["at"]).timestamp() // 1), id_digest(s["event_id"]), "")
                          for s in seen)  # fmt: skip
        return [(*s, "") if len(s) == 2 else s for s in seen]


_EMPTY = CustomerState(customer_id="-")


def exact_sum(total: float, amount: float) -> float:
    """Add, rounded to a millionth: money and durations then sum to the same value in any order."""
    return round(total + amount, SUM_DECIMALS)


def new_state(customer_id: str) -> CustomerState:
    # A copy of one empty state: building a model with mutable defaults deep-copies them, 15 times slower.
    return _EMPTY.model_copy(update={"customer_id": customer_id})


def _latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def already_seen(state: CustomerState, event_id: str) -> bool:
    """Whether an event with this id is in the dedup memory, whatever time it carried."""
    return recalled(state, event_id) is not None


def recalled(state: CustomerState, event_id: str) -> str | None:
    """The content digest remembered with `event_id` ("" when not known), or None for an id not in the memory."""
    digest = id_digest(event_id)
    # `in` over a map runs the scan in C: the memory of a busy customer holds DEDUP_MEMORY ids.
    if digest not in map(itemgetter(1), state.seen):
        return None
    return next(content for _, known, content in state.seen if known == digest)


def remember(state: CustomerState, at: datetime, event_id: str, content: str = "") -> tuple[SeenEvent, ...]:
    """The recent ids with `event_id` added, in event-time order, the oldest beyond DEDUP_MEMORY dropped."""
    seen = list(state.seen)
    insort(seen, (int(at.timestamp() // 1), id_digest(event_id), content))
    return tuple(seen[-DEDUP_MEMORY:])


def apply_event(state: CustomerState, event: Event) -> tuple[CustomerState, bool]:
    """Fold `event` into `state`; returns the state and False when the event_id was already applied."""
    if already_seen(state, event.event_id):
        return state, False
    return fold(state, event, content_digest(event)), True


def fold(state: CustomerState, event: Event, content: str) -> CustomerState:
    """Fold an event not yet applied (see `recalled`), remembering its id with its `content` digest."""
    at = event.occurred_at
    if isinstance(event, ProfileEvent):
        return _profile(state, event, content)
    newest = _latest(state.last_event_at, at)
    changes: dict[str, object] = {
        "first_seen": at if state.first_seen is None or at < state.first_seen else state.first_seen,
        "last_event_at": newest,
        "event_count": state.event_count + 1,
        "seen": remember(state, at, event.event_id, content),
    }
    if isinstance(event, PurchaseEvent):
        changes |= _purchase(state, event, newest)
    elif isinstance(event, VisitEvent):
        changes |= _visit(state, event, newest)
    elif isinstance(event, TicketEvent):
        changes |= _ticket(state, event, newest)
    elif isinstance(event, SurveyEvent):
        changes |= _survey(state, event)
    if "buckets" not in changes:  # not setdefault: its argument would prune the buckets again, only to be dropped
        changes["buckets"] = add_to_buckets(state.buckets, day_of(at), day_of(newest))  # prune only
    return state.model_copy(update=changes)


def _profile(state: CustomerState, event: ProfileEvent, content: str) -> CustomerState:
    """Remember the profile if it is the newest, and its id for deduplication; behaviour is untouched."""
    profile = event.profile()
    # Newest wins; two at the same instant are ordered by content, so arrival order never matters.
    newer = state.profile is None or (profile.updated_at, profile.model_dump_json()) > (
        state.profile.updated_at, state.profile.model_dump_json())
    seen = remember(state, event.occurred_at, event.event_id, content)
    return state.model_copy(update={"seen": seen, "profile": profile if newer else state.profile})


def _purchase(state: CustomerState, event: PurchaseEvent, newest: datetime) -> dict[str, object]:
    at = event.occurred_at
    return {
        "purchase_count": state.purchase_count + 1,
        "total_spend": exact_sum(state.total_spend, event.amount),
        "last_purchase_at": _latest(state.last_purchase_at, at),
        # The cycle needs a longer memory than the windows: the latest purchase
        # times whenever they were, sorted, so arrival order does not matter.
        "purchase_times": tuple(sorted((*state.purchase_times, at))[-MAX_PURCHASE_TIMES:]),
        "buckets": add_to_buckets(state.buckets, day_of(at), day_of(newest), purchases=1, spend=event.amount),
    }


def _visit(state: CustomerState, event: VisitEvent, newest: datetime) -> dict[str, object]:
    at = event.occurred_at
    return {
        "visit_count": state.visit_count + 1,
        "visit_seconds": exact_sum(state.visit_seconds, event.duration_seconds),
        "last_visit_at": _latest(state.last_visit_at, at),
        "buckets": add_to_buckets(
            state.buckets, day_of(at), day_of(newest), visits=1, visit_seconds=event.duration_seconds
        ),
    }


def _ticket(state: CustomerState, event: TicketEvent, newest: datetime) -> dict[str, object]:
    """Open or close a ticket; either end may arrive first and the result is the same."""
    at = event.occurred_at
    changes: dict[str, object] = {"last_ticket_at": _latest(state.last_ticket_at, at)}
    if event.action == "resolved":
        opened = next((t for t in state.open_tickets if t.ticket_id == event.ticket_id), None)
        closed = ClosedTicket(ticket_id=event.ticket_id, at=at)
        changes["open_tickets"] = tuple(t for t in state.open_tickets if t.ticket_id != event.ticket_id)
        changes["closed_tickets"] = _sorted_tail((*state.closed_tickets, closed), lambda t: (t.at, t.ticket_id))
        if opened is not None:
            changes["resolutions"] = _resolved(state, opened.opened_at, at)
        return changes
    high = event.priority in HIGH_PRIORITIES
    complaint = event.category == "complaint"
    changes |= {
        "tickets_opened": state.tickets_opened + 1,
        "complaints": state.complaints + int(complaint),
        "buckets": add_to_buckets(state.buckets, day_of(at), day_of(newest), tickets_opened=1,
                                  high_priority_opened=int(high), complaints=int(complaint)),  # fmt: skip
    }
    closed_at = next((c.at for c in state.closed_tickets if c.ticket_id == event.ticket_id), None)
    if closed_at is not None:
        changes["resolutions"] = _resolved(state, at, closed_at)
    elif not any(t.ticket_id == event.ticket_id for t in state.open_tickets):
        opened = OpenTicket(ticket_id=event.ticket_id, priority=event.priority, opened_at=at)
        changes["open_tickets"] = _sorted_tail((*state.open_tickets, opened), lambda t: (t.opened_at, t.ticket_id))
    return changes


def _sorted_tail(items: tuple, key: Callable) -> tuple:
    """The MAX_OPEN_TICKETS latest items by `key`: bounded, and the same whatever order they came in."""
    return tuple(sorted(items, key=key)[-MAX_OPEN_TICKETS:])


def _resolved(state: CustomerState, opened_at: datetime, resolved_at: datetime) -> tuple[Resolution, ...]:
    done = Resolution(at=resolved_at, hours=max(0.0, (resolved_at - opened_at).total_seconds() / 3600.0))
    return tuple(sorted((*state.resolutions, done), key=lambda r: (r.at, r.hours)))[-MAX_RESOLVE_TIMES:]


def _survey(state: CustomerState, event: SurveyEvent) -> dict[str, object]:
    answer = Answer(at=event.occurred_at, score=event.score)
    changes: dict[str, object] = {"last_survey_at": _latest(state.last_survey_at, event.occurred_at)}
    if event.survey_type == "csat":
        answers = sorted((*state.csat, answer), key=lambda a: (a.at, a.score))
        changes["csat"] = tuple(answers[-MAX_CSAT:])
    elif state.nps is None or (answer.at, answer.score) > (state.nps.at, state.nps.score):
        changes["nps"] = answer  # a late answer does not replace a newer one
    return changes
