"""Decoding at the edge: every unusable record becomes a dead letter with its reason and original bytes."""

import base64
import json
from datetime import datetime, timezone

import msgspec
import pytest

from schemas.events import PurchaseEvent
from schemas.outputs import DeadLetter
from scoring.state import apply_event, new_state
from streams.kafka.codecs import decode_event, decode_state, encode_state
from tests.factories import purchase, survey, ticket

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
GOOD = {"kind": "purchase", "event_id": "e-1", "customer_id": "c-1", "occurred_at": "2025-01-01T00:00:00Z", "amount": 9}


def decode(value: bytes | None, key: bytes | None = b"c-1", kind: str | None = "purchase", limit: int = 1024):
    return decode_event(
        topic="customer.purchases",
        partition=2,
        offset=7,
        key=key,
        value=value,
        expected_kind=kind,
        max_bytes=limit,
        received_at=NOW,
    )


def test_a_valid_record_decodes_to_its_event() -> None:
    event = decode(json.dumps(GOOD).encode())
    assert isinstance(event, PurchaseEvent) and event.amount == 9
    tomorrow = decode(json.dumps({**GOOD, "occurred_at": "2025-06-01T23:00:00Z"}).encode())
    assert isinstance(tomorrow, PurchaseEvent)  # clock skew within a day is tolerated


@pytest.mark.parametrize(
    "value, key, kind, error, reason",
    [
        (b"x" * 2000, b"c-1", "purchase", "too_large", "2000 bytes, over the limit of 1024"),
        (b"\xff\xfe{}", b"c-1", "purchase", "invalid_encoding", "not UTF-8"),
        (b'{"kind": "purchase",', b"c-1", "purchase", "invalid_json", "not valid JSON"),
        (b"", b"c-1", "purchase", "invalid_json", "not valid JSON"),
        (None, b"c-1", "purchase", "invalid_json", "not valid JSON"),
        (
            json.dumps({**GOOD, "amount": -3}).encode(),
            b"c-1",
            "purchase",
            "validation",
            "amount: Input should be greater",
        ),
        (
            json.dumps(GOOD).encode(),
            b"c-1",
            "visit",
            "wrong_topic",
            "a purchase event on 'customer.purchases', which carries visit events",
        ),
        (
            json.dumps(GOOD).encode(),
            b"c-2",
            "purchase",
            "key_mismatch",
            "message key is 'c-2' but customer_id is 'c-1'",
        ),
        (json.dumps(GOOD).encode(), None, "purchase", "key_mismatch", "message key is missing"),
        (json.dumps(GOOD).encode(), b"c-1", None, "unknown_topic", "is not an input topic"),
        (
            json.dumps({**GOOD, "occurred_at": "2025-06-02T00:00:01Z"}).encode(),
            b"c-1",
            "purchase",
            "future_timestamp",
            "more than 1 day, 0:00:00 after it was received",
        ),
    ],
)
def test_unusable_records_become_dead_letters(value, key, kind, error, reason) -> None:
    letter = decode(value, key, kind)
    assert isinstance(letter, DeadLetter)
    assert letter.error == error
    assert reason in letter.reason
    assert base64.b64decode(letter.value_base64) == (value or b"")
    assert letter.key_base64 is None if key is None else base64.b64decode(letter.key_base64) == key
    assert (letter.topic, letter.partition, letter.offset) == ("customer.purchases", 2, 7)


def test_state_survives_its_byte_encoding() -> None:
    state = new_state("c")
    for event in (purchase("c", 0), ticket("c", 1, priority="high"), survey("c", 2, "nps", 4)):
        state, _ = apply_event(state, event)
    assert decode_state(encode_state(state)) == state


def test_states_are_stored_in_fewer_bytes_than_as_json() -> None:
    """A busy customer's state as MessagePack, next to JSON (tests/unit/scoring/test_state_codec.py reads the old forms)."""
    state = new_state("c")
    for day in range(60):
        state, _ = apply_event(state, purchase("c", day))
    stored = encode_state(state)
    assert len(stored) < len(msgspec.json.encode(state)) / 1.5
    assert len(stored) < 60 * 40  # 40 bytes an event, of which 20 are the id remembered for deduplication
