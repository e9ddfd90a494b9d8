"""Hostile and broken input at the edge: the corpus in tests/data/hostile/, then a fuzz of the decoder.

Every case must become a DeadLetter with the expected error, a reason naming what to fix, and
the exact bytes that arrived. The fuzz checks that no input, however odd, makes the decoder
raise instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import EVENT_MODELS, EventKind, PurchaseEvent, SurveyEvent
from schemas.outputs import DeadLetter, DeadLetterError
from streams.kafka.codecs import DEAD_VALUE_BYTES, MAX_REASON, decode_event
from tests.corpus import CORPUS, KINDS, MAX_BYTES, NOW, HostileCase

TOPICS = {kind: f"customer.{kind}s" for kind in KINDS}


def decode(kind: EventKind | None, key: bytes | None, value: bytes | None, max_bytes: int = MAX_BYTES):
    topic = TOPICS.get(kind, "customer.refunds")  # type: ignore[arg-type]
    return decode_event(
        topic=topic,
        partition=3,
        offset=11,
        key=key,
        value=value,
        expected_kind=kind,
        max_bytes=max_bytes,
        received_at=NOW,
    )


def assert_keeps_the_record(letter: DeadLetter, key: bytes | None, value: bytes | None) -> None:
    """A dead letter carries what arrived, so the producer's owner can see and replay it: all of it up to a bound.

    Beyond the bound (DEAD_VALUE_BYTES) it keeps the first bytes, and the length
    and SHA-256 of the whole value still identify the record.
    """
    raw = value or b""
    kept = base64.b64decode(letter.value_base64, validate=True)
    assert kept == raw[:DEAD_VALUE_BYTES]
    assert letter.value_truncated == (len(raw) > DEAD_VALUE_BYTES)
    assert (letter.value_length, letter.value_sha256) == (len(raw), hashlib.sha256(raw).hexdigest())
    assert letter.key_base64 == (None if key is None else base64.b64encode(key).decode("ascii"))
    assert letter.key_length == (None if key is None else len(key))
    assert (letter.partition, letter.offset) == (3, 11)
    assert letter.reason and len(letter.reason) <= MAX_REASON


# --- the corpus


def test_the_corpus_is_well_formed() -> None:
    assert len(CORPUS) >= 30
    names = [case.name for case in CORPUS]
    assert len(set(names)) == len(names), "case names must be unique"
    # The integration test finds each case's dead letter by topic and original bytes.
    wire = [(case.kind, case.value or b"") for case in CORPUS]
    assert len(set(wire)) == len(wire), "two cases sent to one topic have the same bytes"
    assert {case.kind for case in CORPUS} == set(KINDS)
    vocabulary = set(get_args(DeadLetterError))
    assert {case.error for case in CORPUS} <= vocabulary
    # Every error an input record can produce alone is exercised: unknown_topic needs a topic the worker does
    # not read, conflicting_duplicate an event sent before (tests/integration/test_no_record_lost.py),
    # processing_error a fault in the worker, never the input, and undecodable_batch a record batch, not a record
    # (tests/integration/test_compressed_inputs.py).
    not_records = {"unknown_topic", "conflicting_duplicate", "processing_error", "undecodable_batch"}
    assert {case.error for case in CORPUS} == vocabulary - not_records
    assert all(case.reason for case in CORPUS)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        )
        for case in CORPUS
        if not case.needs_worker_state
    ],
)
def test_each_hostile_message_becomes_a_dead_letter_with_a_reason_and_its_bytes(case: HostileCase) -> None:
    letter = decode(case.kind, case.key, case.value)
    assert isinstance(letter, DeadLetter), f"accepted as {letter!r}"
    assert letter.error == case.error, letter.reason
    assert case.reason in letter.reason
    assert letter.topic == TOPICS[case.kind]
    assert_keeps_the_record(letter, case.key, case.value)


def test_a_survey_from_an_unknown_customer_is_only_rejected_by_the_worker() -> None:
    # The decoder cannot know the customer: the event is valid, and the worker's state check rejects it.
    for case in (c for c in CORPUS if c.needs_worker_state):
        assert isinstance(decode(case.kind, case.key, case.value), SurveyEvent)


@pytest.mark.parametrize("depth", [10_000, 1_000_000])
@pytest.mark.parametrize("opening, closing", [(b"[", b"]"), (b'{"a":', b"}")])
def test_nesting_deeper_than_the_parser_allows_is_refused_not_crashed_on(depth, opening, closing) -> None:
    value = opening * depth + (b"1" if opening != b"[" else b"") + closing * depth
    letter = decode("purchase", b"bob", value, max_bytes=len(value))
    assert isinstance(letter, DeadLetter)
    assert (letter.error, "recursion limit exceeded" in letter.reason) == ("invalid_json", True)
    assert_keeps_the_record(letter, b"bob", value)


def test_duplicate_json_keys_keep_the_last_value() -> None:
    # Ordinary JSON behaviour, so not a corpus case: the last amount wins, whichever one is bad.
    head = b'{"kind": "purchase", "event_id": "e", "customer_id": "bob", "occurred_at": "2025-01-05T00:00:00Z"'
    event = decode("purchase", b"bob", head + b', "amount": -5, "amount": 9}')
    assert isinstance(event, PurchaseEvent) and event.amount == 9
    letter = decode("purchase", b"bob", head + b', "amount": 9, "amount": -5}')
    assert isinstance(letter, DeadLetter) and "amount: Input should be greater than or equal to 0" in letter.reason


# --- fuzz

VALID_BODIES: dict[str, dict[str, Any]] = {
    "purchase": {"amount": 12.5, "currency": "EUR", "items": 2},
    "visit": {"duration_seconds": 120.0, "pages": 3},
    "ticket": {"ticket_id": "T-9", "action": "opened", "priority": "high", "category": "bug"},
    "survey": {"survey_type": "nps", "score": 3},  # 3 is on both scales: survey_type may change alone
    "profile": {
        "plan": "enterprise",
        "company_size": "201-1000",
        "industry": "retail",
        "lifecycle_stage": "active",
        "contract_value": 24000.0,
        "renewal_date": "2025-06-30",
    },
}
VALID_EVENTS = {
    kind: {
        "schema_version": 1,
        "kind": kind,
        "event_id": "e-1",
        "customer_id": "bob",
        "occurred_at": "2025-01-05T00:00:00+01:00",
        **fields,
    }
    for kind, fields in VALID_BODIES.items()
}
FIELD_NAMES = sorted({name for model in EVENT_MODELS.values() for name in model.model_fields})
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

short_text = st.text(max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | short_text,  # floats include nan and ±inf
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | short_text, children, max_size=4)
    ),
    max_leaves=12,
)
kinds_or_none = st.sampled_from([None, *KINDS])
keys = st.none() | st.just(b"bob") | st.binary(max_size=12)


@st.composite
def spliced_records(draw) -> bytes:
    """A valid record with a few bytes inserted, deleted or overwritten: mostly near-JSON, often not UTF-8."""
    data = bytearray(json.dumps(VALID_EVENTS[draw(st.sampled_from(KINDS))]).encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "overwrite"]))
        chunk = draw(st.binary(min_size=1, max_size=4))
        if op == "insert":
            data[at:at] = chunk
        elif op == "delete":
            del data[at : at + len(chunk)]
        else:
            data[at : at + len(chunk)] = chunk
    return bytes(data)


def check_outcome(result: object, kind: EventKind | None, key: bytes | None, value: bytes | None) -> None:
    """Either an event for this topic and key, or a dead letter keeping the record."""
    if isinstance(result, DeadLetter):
        assert_keeps_the_record(result, key, value)
    else:
        assert type(result) in EVENT_MODELS.values(), f"decode_event returned {result!r}"
        assert result.kind == kind and key == result.customer_id.encode()  # type: ignore[attr-defined]


@FUZZ
@given(
    value=st.none() | st.binary(max_size=300) | spliced_records(),
    key=keys,
    kind=kinds_or_none,
    max_bytes=st.integers(0, 400),
)
def test_fuzz_arbitrary_bytes_never_raise(value, key, kind, max_bytes) -> None:
    check_outcome(decode(kind, key, value, max_bytes=max_bytes), kind, key, value)


@FUZZ
@given(
    body=json_values
    | st.fixed_dictionaries(
        {"kind": st.sampled_from(KINDS)}, optional=dict.fromkeys(set(FIELD_NAMES) - {"kind"}, json_values)
    ),
    ascii_only=st.booleans(),
    kind=st.sampled_from(KINDS),
)
def test_fuzz_arbitrary_json_values_never_raise(body, ascii_only, kind) -> None:
    value = json.dumps(body, ensure_ascii=ascii_only).encode()  # NaN and Infinity are written as bare tokens
    check_outcome(decode(kind, b"bob", value, max_bytes=1 << 20), kind, b"bob", value)


@st.composite
def mutations(draw) -> tuple[EventKind, str, str, dict[str, Any]]:
    """(kind, operation, field, mutated body): one field of a valid event dropped, replaced or added."""
    kind = draw(st.sampled_from(KINDS))
    body = dict(VALID_EVENTS[kind])
    operation = draw(st.sampled_from(["drop", "replace", "add"]))
    if operation == "add":
        field = draw(st.sampled_from(FIELD_NAMES) | st.text(min_size=1, max_size=20))
        if field in body:
            operation = "replace"  # not new to this kind: the same test, as a replacement
    else:
        field = draw(st.sampled_from(sorted(body)))
    if operation == "drop":
        del body[field]
    else:
        body[field] = draw(json_values | st.sampled_from(KINDS))
    return kind, operation, field, body


@FUZZ
@given(mutation=mutations())
def test_fuzz_mutated_valid_events_validate_or_name_the_field(mutation) -> None:
    kind, operation, field, body = mutation
    value = json.dumps(body).encode()
    result = decode(kind, b"bob", value, max_bytes=1 << 20)
    check_outcome(result, kind, b"bob", value)
    if isinstance(result, DeadLetter):
        assert result.error in ("validation", "key_mismatch", "future_timestamp", "too_old"), result.reason
        if field == "kind" and body.get("kind") in KINDS:
            # Another kind's tag: the reason lists that kind's missing and extra fields instead.
            assert any(name in result.reason for name in FIELD_NAMES), result.reason
        else:
            assert field in result.reason, f"{operation} {field!r}: {result.reason}"
