"""The wire contract: what upstream may send, and the message it gets when it may not."""

import json

import pytest
from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, PurchaseEvent, SurveyEvent, TicketEvent, VisitEvent, describe_errors

BASE = {"event_id": "e-1", "customer_id": "c-1", "occurred_at": "2025-03-01T10:00:00+01:00"}


@pytest.mark.parametrize(
    "body, model",
    [
        ({"kind": "purchase", **BASE, "amount": 19.99}, PurchaseEvent),
        ({"kind": "visit", **BASE, "duration_seconds": 0}, VisitEvent),
        ({"kind": "ticket", **BASE, "ticket_id": "T-9", "action": "opened", "priority": "urgent"}, TicketEvent),
        ({"kind": "survey", **BASE, "survey_type": "csat", "score": 1}, SurveyEvent),
        ({"kind": "survey", **BASE, "survey_type": "nps", "score": 0}, SurveyEvent),
        ({"kind": "survey", **BASE, "survey_type": "nps", "score": 10}, SurveyEvent),
    ],
)
def test_valid_events_parse_to_their_kind(body: dict, model: type) -> None:
    event = EVENT_ADAPTER.validate_json(json.dumps(body))
    assert isinstance(event, model)
    assert event.occurred_at.utcoffset() is not None


@pytest.mark.parametrize(
    "body, message",
    [
        ({"kind": "purchase", **BASE, "amount": 5, "coupon": "X"}, "coupon: Extra inputs are not permitted"),
        ({"kind": "purchase", **BASE, "amount": "ten"}, "amount: Input should be a valid number"),
        ({"kind": "purchase", **BASE, "amount": -1}, "amount: Input should be greater than or equal to 0"),
        ({"kind": "purchase", **{**BASE, "event_id": ""}, "amount": 5}, "event_id: String should have at least 1"),
        ({"kind": "purchase", "customer_id": "c", "occurred_at": BASE["occurred_at"], "amount": 5}, "event_id: Field required"),
        ({"kind": "visit", **{k: v for k, v in BASE.items() if k != "customer_id"}, "duration_seconds": 1}, "customer_id: Field required"),
        ({"kind": "visit", **{**BASE, "occurred_at": "2025-03-01T10:00:00"}, "duration_seconds": 1}, "occurred_at: Input should have timezone info"),
        ({"kind": "visit", **BASE, "duration_seconds": -5}, "duration_seconds: Input should be greater than or equal to 0"),
        ({"kind": "survey", **BASE, "survey_type": "csat", "score": 6}, "csat score must be between 1 and 5, got 6"),
        ({"kind": "survey", **BASE, "survey_type": "csat", "score": 0}, "csat score must be between 1 and 5, got 0"),
        ({"kind": "survey", **BASE, "survey_type": "nps", "score": 11}, "nps score must be between 0 and 10, got 11"),
        ({"kind": "survey", **BASE, "survey_type": "nps", "score": 7.5}, "score must be a whole number"),
        ({"kind": "ticket", **BASE, "ticket_id": "T", "action": "closed"}, "action: Input should be 'opened' or 'resolved'"),
        ({"kind": "refund", **BASE}, "does not match any of the expected tags"),
        ({**BASE, "amount": 5}, "Unable to extract tag using discriminator 'kind'"),
        ({"kind": "purchase", **{**BASE, "customer_id": "has space"}, "amount": 5}, "customer_id: String should match pattern"),
    ],
)
def test_invalid_events_are_rejected_with_a_clear_message(body: dict, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        EVENT_ADAPTER.validate_json(json.dumps(body))
    assert message in describe_errors(raised.value)


def test_non_finite_amounts_are_rejected() -> None:
    with pytest.raises(ValidationError, match="finite number"):
        EVENT_ADAPTER.validate_json('{"kind":"purchase","event_id":"e","customer_id":"c",'
                                    '"occurred_at":"2025-01-01T00:00:00Z","amount":Infinity}')  # fmt: skip


def test_events_are_frozen() -> None:
    event = PurchaseEvent(**BASE, amount=3)
    with pytest.raises(ValidationError):
        event.amount = 4  # type: ignore[misc]
