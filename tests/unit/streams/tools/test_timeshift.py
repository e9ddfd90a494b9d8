"""`produce --shift-to-now`: one constant moves every valid line so the newest lands just before now."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from schemas.control import ErasureRequest, OverrideRequest
from schemas.events import EVENT_ADAPTER
from streams.tools.publish import read_lines
from streams.tools.timeshift import MARGIN, shift_line, shift_to_now
from tests.factories import profile, purchase, survey, ticket, visit
from tests.paths import ROOT

NOW = datetime(2026, 12, 7, 22, 41, 30, 250000, tzinfo=timezone.utc)
EXPIRES = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
OVERRIDE = OverrideRequest(
    request_id="r-1",
    customer_id="ann",
    action="pin_score",
    score=40.0,
    reason="renewal",
    author="lee",
    requested_at=datetime(2025, 2, 15, 9, 0, tzinfo=timezone.utc),
    expires_at=EXPIRES,
)
ERASURE = ErasureRequest(request_id="r-2", customer_id="bob", requested_at=datetime(2025, 2, 20, tzinfo=timezone.utc))
# Lines the worker dead-letters: they must reach it exactly as they are.
INVALID = [
    b'{"kind": "visit", "event_id": "e-x", "customer_id": "ann", "occurred_at": "2025-04-20T10:00:00", '
    b'"duration_seconds": 60}',  # no time zone
    b'{"kind": "survey", "event_id": "e-y", "customer_id": "ann", "occurred_at": "2030-01-01T00:00:00Z", '
    b'"survey_type": "nps", "score": 12}',  # later than every valid line, yet not what decides the shift
    b"not json at all",
    b'{"kind": "refund", "occurred_at": "2025-01-01T00:00:00Z"}',
]


def shifted(lines: list[bytes], now: datetime = NOW) -> tuple[list[bytes], timedelta]:
    by = shift_to_now(lines, now)
    return [shift_line(line, by) for line in lines], by


def moment(line: bytes) -> datetime:
    body = json.loads(line)
    return datetime.fromisoformat(body.get("occurred_at") or body["requested_at"])


def sample_events() -> list[bytes]:
    return [
        e.model_dump_json().encode()
        for e in (
            visit("ann", 0),
            purchase("ann", 3.25),
            ticket("bob", 40.5),
            survey("bob", 90.9, "nps", 3),
            visit("cat", 119.99),
        )
    ]


def test_every_gap_between_events_is_kept() -> None:
    lines = sample_events()
    out, by = shifted(lines)
    before, after = [moment(line) for line in lines], [moment(line) for line in out]
    assert [b - a for a, b in zip(before, before[1:])] == [b - a for a, b in zip(after, after[1:])]
    assert all(new - old == by for old, new in zip(before, after))


@pytest.mark.parametrize("now", [NOW, datetime(2025, 1, 1, tzinfo=timezone.utc), NOW.replace(microsecond=0)])
def test_the_newest_event_lands_just_before_now_in_whole_seconds(now: datetime) -> None:
    out, by = shifted(sample_events(), now)
    newest = max(moment(line) for line in out)
    assert now - MARGIN - timedelta(seconds=1) < newest <= now - MARGIN < now
    assert by.microseconds == 0  # a time written to the second stays written to the second


def test_lines_that_are_not_valid_events_pass_through_byte_for_byte() -> None:
    lines = [*sample_events(), *INVALID]
    out, by = shifted(lines)
    assert out[len(lines) - len(INVALID) :] == INVALID
    assert by == shift_to_now(sample_events(), NOW)  # the invalid survey dated 2030 did not count


def test_a_file_without_a_valid_line_is_not_moved() -> None:
    assert shift_to_now(INVALID, NOW) == timedelta(0)
    assert shift_to_now([], NOW) == timedelta(0)


def test_only_the_times_change_and_each_is_written_as_it_was() -> None:
    line = (
        b'{"kind":"visit","event_id":"e-1","customer_id":"ann","occurred_at":"2025-01-05T10:30:00.250+01:00",'
        b'"duration_seconds":60.5,"pages":3}'
    )
    by = timedelta(days=10, seconds=7)
    out = json.loads(shift_line(line, by))
    assert out.pop("occurred_at") == "2025-01-15T10:30:07.250000+01:00"
    original = json.loads(line)
    original.pop("occurred_at")
    assert out == original
    utc = shift_line(visit("ann", 0).model_dump_json().encode(), by)
    assert json.loads(utc)["occurred_at"] == "2025-01-11T12:00:07Z"


@pytest.mark.parametrize("hour", [0, 1, 12, 22, 23])
def test_a_profile_renewal_30_days_after_its_event_stays_30_days_after_it(hour: int) -> None:
    event = profile("ann", 0, renewal_date=date(2025, 1, 31)).model_copy(
        update={"occurred_at": datetime(2025, 1, 1, hour, 30, tzinfo=timezone.utc)}
    )
    out, by = shifted([event.model_dump_json().encode(), *sample_events()])
    moved = EVENT_ADAPTER.validate_json(out[0])
    assert moved.occurred_at == event.occurred_at + by
    assert moved.renewal_date - moved.occurred_at.date() == timedelta(days=30)
    assert (moved.renewal_date - event.renewal_date).days in (by.days, by.days + 1)  # whole days, about `by`


def test_erasure_and_override_requests_move_with_the_events() -> None:
    lines = [*sample_events(), OVERRIDE.model_dump_json().encode(), ERASURE.model_dump_json().encode()]
    out, by = shifted(lines)
    override, erasure = OverrideRequest.model_validate_json(out[-2]), ErasureRequest.model_validate_json(out[-1])
    assert override.requested_at == OVERRIDE.requested_at + by and override.expires_at == EXPIRES + by
    assert erasure.requested_at == ERASURE.requested_at + by
    assert override.model_copy(update={"requested_at": OVERRIDE.requested_at, "expires_at": EXPIRES}) == OVERRIDE


def test_a_request_can_be_the_newest_line() -> None:
    late = ERASURE.model_copy(update={"requested_at": datetime(2025, 6, 1, tzinfo=timezone.utc)})
    out, _ = shifted([*sample_events(), late.model_dump_json().encode()])
    assert ErasureRequest.model_validate_json(out[-1]).requested_at <= NOW - MARGIN


def test_the_sample_file_moves_to_now_with_its_invalid_lines_untouched() -> None:
    lines = list(read_lines(ROOT / "data" / "sample_events.jsonl"))
    out, by = shifted(lines)
    unchanged = [line for line, new in zip(lines, out) if line == new]
    assert len(unchanged) == 4  # the sample's deliberately invalid lines, which the worker dead-letters
    pairs = [
        (EVENT_ADAPTER.validate_json(old), EVENT_ADAPTER.validate_json(new))
        for old, new in zip(lines, out)
        if old != new
    ]
    assert all(new.occurred_at - old.occurred_at == by for old, new in pairs)
    dates = ("occurred_at", "renewal_date")  # all that moves; every other value is as it was
    assert all(
        new.model_copy(update={f: getattr(old, f) for f in dates if hasattr(old, f)}) == old for old, new in pairs
    )
    renewals = [(old, new) for old, new in pairs if new.kind == "profile" and new.renewal_date is not None]
    assert renewals and all(
        new.renewal_date - new.occurred_at.date() == old.renewal_date - old.occurred_at.date() for old, new in renewals
    )
    assert NOW - MARGIN - timedelta(seconds=1) < max(new.occurred_at for _, new in pairs) <= NOW - MARGIN
