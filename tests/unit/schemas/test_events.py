"""The wire contract: what upstream may send, and the message it gets when it may not."""

import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.common import DATE_PATTERN, TIMESTAMP_PATTERN
from schemas.control import OverrideRequest
from schemas.events import (
    EVENT_ADAPTER,
    ProfileEvent,
    PurchaseEvent,
    SurveyEvent,
    TicketEvent,
    VisitEvent,
    describe_errors,
)

UTC = timezone.utc
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
        (
            {"kind": "purchase", "customer_id": "c", "occurred_at": BASE["occurred_at"], "amount": 5},
            "event_id: Field required",
        ),
        (
            {"kind": "visit", **{k: v for k, v in BASE.items() if k != "customer_id"}, "duration_seconds": 1},
            "customer_id: Field required",
        ),
        (
            {"kind": "visit", **{**BASE, "occurred_at": "2025-03-01T10:00:00"}, "duration_seconds": 1},
            "occurred_at: Value error, must be an RFC 3339",
        ),
        (
            {"kind": "visit", **BASE, "duration_seconds": -5},
            "duration_seconds: Input should be greater than or equal to 0",
        ),
        ({"kind": "survey", **BASE, "survey_type": "csat", "score": 6}, "csat score must be between 1 and 5, got 6"),
        ({"kind": "survey", **BASE, "survey_type": "csat", "score": 0}, "csat score must be between 1 and 5, got 0"),
        ({"kind": "survey", **BASE, "survey_type": "nps", "score": 11}, "nps score must be between 0 and 10, got 11"),
        ({"kind": "survey", **BASE, "survey_type": "nps", "score": 7.5}, "score: Input should be a valid integer"),
        (
            {"kind": "ticket", **BASE, "ticket_id": "T", "action": "closed"},
            "action: Input should be 'opened' or 'resolved'",
        ),
        ({"kind": "refund", **BASE}, "does not match any of the expected tags"),
        ({**BASE, "amount": 5}, "Unable to extract tag using discriminator 'kind'"),
        (
            {"kind": "purchase", **{**BASE, "customer_id": "has space"}, "amount": 5},
            "customer_id: String should match pattern",
        ),
    ],
)
def test_invalid_events_are_rejected_with_a_clear_message(body: dict, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        EVENT_ADAPTER.validate_json(json.dumps(body))
    assert message in describe_errors(raised.value)


def test_non_finite_amounts_are_rejected() -> None:
    with pytest.raises(ValidationError, match="finite number"):
        EVENT_ADAPTER.validate_json(
            '{"kind":"purchase","event_id":"e","customer_id":"c",'
            '"occurred_at":"2025-01-01T00:00:00Z","amount":Infinity}'
        )


def test_events_are_frozen() -> None:
    event = PurchaseEvent(**BASE, amount=3)
    with pytest.raises(ValidationError):
        event.amount = 4  # type: ignore[misc]


# --- strict: JSON types as the JSON Schema says, no conversions

PURCHASE = {"kind": "purchase", **BASE, "amount": 12.5}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"amount": "12.50"}, "amount: Input should be a valid number"),
        ({"amount": True}, "amount: Input should be a valid number"),
        ({"items": 2.0}, "items: Input should be a valid integer"),
        ({"items": "2"}, "items: Input should be a valid integer"),
        ({"items": False}, "items: Input should be a valid integer"),
        ({"schema_version": 1.0}, "schema_version: Value error, must be the integer 1"),
        ({"schema_version": True}, "schema_version: Value error, must be the integer 1"),
        ({"occurred_at": 1740819600}, "occurred_at: Value error, must be an RFC 3339 date-time with a time zone"),
        ({"occurred_at": "1740819600"}, "got '1740819600'"),
        ({"occurred_at": "2025-03-01T10:00:00"}, "got '2025-03-01T10:00:00'"),
        ({"occurred_at": "2025-03-01"}, "got '2025-03-01'"),
        ({"occurred_at": "2025-03-01 10:00:00Z"}, "got '2025-03-01 10:00:00Z'"),
        ({"occurred_at": "2025-03-01t10:00:00z"}, "got '2025-03-01t10:00:00z'"),
        ({"occurred_at": "2025-03-01T10:00:00+0100"}, "got '2025-03-01T10:00:00+0100'"),
        ({"occurred_at": "2025-03-01T10:00:00+01"}, "got '2025-03-01T10:00:00+01'"),
        ({"occurred_at": "2025-03-01T10:00Z"}, "got '2025-03-01T10:00Z'"),
        ({"occurred_at": "2016-12-31T23:59:60Z"}, "got '2016-12-31T23:59:60Z'"),  # Python has no leap second
        ({"occurred_at": "2025-03-01T24:00:00Z"}, "got '2025-03-01T24:00:00Z'"),
        ({"occurred_at": "2025-03-01T10:00:00+24:00"}, "got '2025-03-01T10:00:00+24:00'"),
        ({"occurred_at": "2025-03-01T10:00:00.Z"}, "got '2025-03-01T10:00:00.Z'"),
        ({"occurred_at": "0999-03-01T10:00:00Z"}, "got '0999-03-01T10:00:00Z'"),
        ({"occurred_at": "x" * 50}, "got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'"),
    ],
)
def test_json_values_are_not_converted_to_the_type_a_field_wants(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        EVENT_ADAPTER.validate_json(json.dumps({**PURCHASE, **changes}))
    assert message in describe_errors(raised.value)


@pytest.mark.parametrize(
    "changes, field, expected",
    [
        ({"amount": 12}, "amount", 12.0),  # a JSON integer is a JSON number
        ({"amount": 0}, "amount", 0.0),
        ({"items": 3}, "items", 3),
        ({"occurred_at": "2025-03-01T10:00:00Z"}, "occurred_at", datetime(2025, 3, 1, 10, tzinfo=timezone.utc)),
        ({"occurred_at": "2025-03-01T10:00:00-00:00"}, "occurred_at", datetime(2025, 3, 1, 10, tzinfo=timezone.utc)),
        ({"occurred_at": "2025-03-01T11:30:00+01:30"}, "occurred_at", datetime(2025, 3, 1, 10, tzinfo=timezone.utc)),
        ({"occurred_at": "2025-03-01T10:00:00.5Z"}, "occurred_at", datetime(2025, 3, 1, 10, 0, 0, 500_000, UTC)),
        ({"occurred_at": "2025-03-01T10:00:00.123456789Z"}, "occurred_at", datetime(2025, 3, 1, 10, 0, 0, 123456, UTC)),
        ({"occurred_at": "2024-02-29T23:59:59+23:59"}, "occurred_at", datetime(2024, 2, 29, 0, 0, 59, tzinfo=UTC)),
    ],
)
def test_json_values_of_the_right_type_are_taken(changes: dict, field: str, expected: object) -> None:
    event = EVENT_ADAPTER.validate_json(json.dumps({**PURCHASE, **changes}))
    assert getattr(event, field) == expected and type(getattr(event, field)) is type(expected)


def test_python_callers_pass_python_values() -> None:
    # Factories, the CDNOW loader and the CLI build events from datetimes, dates, ints and floats.
    at = datetime(2025, 3, 1, 10, tzinfo=timezone(timedelta(hours=1)))
    assert PurchaseEvent(event_id="e", customer_id="c", occurred_at=at, amount=12, items=2).amount == 12.0
    assert ProfileEvent(
        event_id="e", customer_id="c", occurred_at=at, renewal_date=date(2025, 6, 30), contract_value=24_000
    ).renewal_date == date(2025, 6, 30)
    override = OverrideRequest(
        request_id="o",
        customer_id="c",
        action="adjust",
        adjustment=-5,
        reason="r",
        author="a",
        requested_at=at,
        expires_at=at + timedelta(days=1),
    )
    assert override.adjustment == -5.0
    with pytest.raises(ValidationError, match="must be an RFC 3339 date-time"):
        PurchaseEvent(event_id="e", customer_id="c", occurred_at=1740819600, amount=12)  # type: ignore[arg-type]


# --- the timestamp and date patterns: what the JSON Schema says is what the parser takes


@pytest.mark.parametrize("year", [1000, 1900, 1999, 2000, 2023, 2024, 2025, 2100, 2400, 9999])
def test_the_date_pattern_takes_exactly_the_days_of_the_calendar(year: int) -> None:
    for month in range(0, 14):
        for day in range(0, 33):
            text = f"{year:04d}-{month:02d}-{day:02d}"
            try:
                real = date(year, month, day) is not None
            except ValueError:
                real = False
            assert bool(re.fullmatch(DATE_PATTERN, text)) == real, text


@settings(max_examples=300)
@given(st.from_regex(TIMESTAMP_PATTERN, fullmatch=True))
def test_every_timestamp_the_pattern_allows_is_parsed_to_the_same_instant_python_reads(text: str) -> None:
    event = EVENT_ADAPTER.validate_json(json.dumps({**PURCHASE, "occurred_at": text}))
    assert event.occurred_at == datetime.fromisoformat(text)


whole_minute_zones = st.integers(-24 * 60 + 1, 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@settings(max_examples=300)
# hypothesis takes naive bounds and gives each example one of `timezones`.
@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=whole_minute_zones))  # noqa: DTZ001
def test_what_python_and_pydantic_write_for_an_aware_datetime_is_a_timestamp(moment: datetime) -> None:
    # A producer's serialiser, not a hand-written string: isoformat() ("+00:00") and pydantic's own ("Z").
    written = json.loads(PurchaseEvent(event_id="e", customer_id="c", occurred_at=moment, amount=1).model_dump_json())
    for text in (moment.isoformat(), written["occurred_at"]):
        assert re.fullmatch(TIMESTAMP_PATTERN, text), text
