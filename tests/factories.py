"""Event builders for tests: days are offsets from T0, ids are made unique unless given."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from schemas.events import ProfileEvent, PurchaseEvent, SurveyEvent, TicketEvent, VisitEvent
from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from scoring.instants import US_PER_DAY, to_us
from scoring.records import AlertRecord, ScoreRecord, encode

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
_ids = itertools.count(1)


def at(day: float) -> datetime:
    return T0 + timedelta(days=day)


def us(day: float) -> int:
    """`at(day)` as the state keeps instants: microseconds since 1970 UTC."""
    return to_us(at(day))


def today(day: float) -> int:
    """The UTC day number of `at(day)`, as day buckets and the score history count days."""
    return us(day) // US_PER_DAY


def _eid(event_id: str | None) -> str:
    return event_id or f"e-{next(_ids)}"


def purchase(customer: str, day: float, amount: float = 50.0, event_id: str | None = None) -> PurchaseEvent:
    return PurchaseEvent(event_id=_eid(event_id), customer_id=customer, occurred_at=at(day), amount=amount)


def visit(customer: str, day: float, seconds: float = 300.0, event_id: str | None = None) -> VisitEvent:
    return VisitEvent(event_id=_eid(event_id), customer_id=customer, occurred_at=at(day), duration_seconds=seconds)


def ticket(
    customer: str,
    day: float,
    ticket_id: str = "T-1",
    action: str = "opened",
    priority: str = "normal",
    category: str = "question",
    event_id: str | None = None,
) -> TicketEvent:
    return TicketEvent(
        event_id=_eid(event_id),
        customer_id=customer,
        occurred_at=at(day),
        ticket_id=ticket_id,
        action=action,
        priority=priority,
        category=category,
    )


def survey(customer: str, day: float, survey_type: str, score: int, event_id: str | None = None) -> SurveyEvent:
    return SurveyEvent(
        event_id=_eid(event_id), customer_id=customer, occurred_at=at(day), survey_type=survey_type, score=score
    )


def profile(customer: str, day: float, event_id: str | None = None, **fields: object) -> ProfileEvent:
    return ProfileEvent(event_id=_eid(event_id), customer_id=customer, occurred_at=at(day), **fields)


def published(records: list[ScoreRecord] | list[AlertRecord]) -> list:
    """Records as a consumer of the topics reads them: parsed with the contract's models (ScoreUpdate, ChurnRiskAlert)."""
    return [
        (ScoreUpdate if isinstance(r, ScoreRecord) else ChurnRiskAlert).model_validate_json(encode(r)) for r in records
    ]
