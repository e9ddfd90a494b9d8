"""Bytes at the edge: raw Kafka records become events or dead letters, state becomes bytes."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from pydantic import ValidationError

from schemas.control import ErasureRequest, OverrideRequest
from schemas.events import EVENT_ADAPTER, Event, EventKind, describe_errors
from schemas.outputs import MAX_DEAD_KEY_BYTES, DeadLetter, DeadLetterError
from scoring import state_codec
from scoring.state import CustomerState
from streams.kafka.undecodable import UndecodableBatch

T = TypeVar("T")
R = TypeVar("R", ErasureRequest, OverrideRequest)
UTF8_BOM = b"\xef\xbb\xbf"
# A reason longer than this is cut: it goes into a topic and a log line.
MAX_REASON = 600
# Bytes of a bad record's value a dead letter keeps by default: all of any record within the default
# size limit (HEALTHSCORE_MAX_MESSAGE_BYTES), and a DeadLetter far below the producer's 1 MB request limit.
DEAD_VALUE_BYTES = 65536
# Events dated further back than this are dead-lettered (`too_old`): a year 1 or 1970 date is a bug upstream.
MAX_AGE = timedelta(days=3650)


def decode_event(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    expected_kind: EventKind | None,
    max_bytes: int,
    received_at: datetime,
    max_future: timedelta = timedelta(days=1),
    max_age: timedelta = MAX_AGE,
    keep: int = DEAD_VALUE_BYTES,
) -> Event | DeadLetter:
    """Validate one record from an input topic; anything unusable becomes a DeadLetter saying why.

    `keep` bounds the bytes of the value a dead letter carries (see `dead_letter`).
    """
    raw = value or b""
    dead = partial(
        dead_letter,
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=raw,
        received_at=received_at,
        keep=keep,
    )

    if expected_kind is None:
        return dead("unknown_topic", f"topic {topic!r} is not an input topic of this service")
    event = _parse(raw, max_bytes, EVENT_ADAPTER.validate_json)
    if isinstance(event, tuple):
        return dead(*event)
    if event.occurred_at > received_at + max_future:
        return dead(
            "future_timestamp",
            f"occurred_at {event.occurred_at.isoformat()} is more than {max_future} after it was received "
            f"({received_at.isoformat()}); check the producer's clock and time zone",
        )
    if event.occurred_at < received_at - max_age:
        return dead(
            "too_old",
            f"occurred_at {event.occurred_at.isoformat()} is more than {max_age.days} days before it was received "
            f"({received_at.isoformat()}); a date that old is a bug upstream (raise HEALTHSCORE_MAX_EVENT_AGE_DAYS "
            "to backfill older history)",
        )
    if event.kind != expected_kind:
        return dead("wrong_topic", f"a {event.kind} event on {topic!r}, which carries {expected_kind} events")
    if key is None or key != event.customer_id.encode("utf-8"):
        shown = "missing" if key is None else repr(key.decode("utf-8", "replace"))
        return dead(
            "key_mismatch",
            f"message key is {shown} but customer_id is {event.customer_id!r}; publish keyed by customer_id",
        )
    return event


def decode_request(
    request_type: type[R],
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    max_bytes: int,
    received_at: datetime,
    keep: int = DEAD_VALUE_BYTES,
) -> R | DeadLetter:
    """Validate one record of a control topic (erasures, overrides); like events, keyed by its customer_id."""
    raw = value or b""
    dead = partial(
        dead_letter,
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=raw,
        received_at=received_at,
        keep=keep,
    )
    request = _parse(raw, max_bytes, request_type.model_validate_json)
    if isinstance(request, tuple):
        return dead(*request)
    if key != request.customer_id.encode("utf-8"):
        return dead("key_mismatch", "a request must be keyed by its customer_id")  # no id: personal data
    return request


def _parse(raw: bytes, max_bytes: int, validate: Callable[[str], T]) -> T | tuple[DeadLetterError, str]:
    """The validated message, or the dead-letter error and reason saying why it is not one."""
    text = _text(raw, max_bytes)
    if isinstance(text, tuple):
        return text
    try:
        return validate(text)
    except ValidationError as exc:
        return _invalid(exc)


def _text(raw: bytes, max_bytes: int) -> str | tuple[DeadLetterError, str]:
    """The record as UTF-8 text, or why it cannot be read as JSON at all."""
    if len(raw) > max_bytes:
        return "too_large", f"message is {len(raw)} bytes, over the limit of {max_bytes}"
    if raw.startswith(UTF8_BOM):
        return "invalid_encoding", "message starts with a UTF-8 byte order mark (BOM); send UTF-8 JSON without one"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "invalid_encoding", f"message is not UTF-8: {exc.reason} at byte {exc.start}"
    if "\x00" in text:
        return "invalid_encoding", "message contains NUL bytes: it looks like UTF-16 or binary, not UTF-8 JSON"
    return text


def _invalid(exc: ValidationError) -> tuple[DeadLetterError, str]:
    errors = exc.errors(include_url=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return "invalid_json", f"not valid JSON: {errors[0]['msg']}"
    return "validation", describe_errors(exc)


def dead_letter(
    error: DeadLetterError,
    reason: str,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    received_at: datetime,
    keep: int = DEAD_VALUE_BYTES,
    last_offset: int | None = None,
) -> DeadLetter:
    """A DeadLetter keeping the record's coordinates and its bytes as they arrived, the value's first `keep`.

    Bounded, because a dead letter must always be sendable: a record just
    under the broker's limit, base64-encoded, would not fit the producer's
    request, and a dead letter that cannot be sent loses the record. The
    length and SHA-256 of the whole value still identify what arrived.
    """
    raw = value or b""
    return DeadLetter(
        error=error,
        reason=reason[:MAX_REASON],
        topic=topic,
        partition=partition,
        offset=offset,
        key_base64=None if key is None else base64.b64encode(key[:MAX_DEAD_KEY_BYTES]).decode("ascii"),
        key_length=None if key is None else len(key),
        value_base64=base64.b64encode(raw[:keep]).decode("ascii"),
        value_length=len(raw),
        value_sha256=hashlib.sha256(raw).hexdigest(),
        value_truncated=len(raw) > keep,
        received_at=received_at,
        last_offset=last_offset,
    )


def undecodable(batch: UndecodableBatch, *, topic: str, partition: int, received_at: datetime, keep: int) -> DeadLetter:
    """The dead letter of a record batch that could not be decoded: its offset range, why, and its raw bytes."""
    reason = (
        f"the record batch at offsets {batch.first}..{batch.last} could not be decoded ({batch.reason}); "
        "its records were skipped: the value is the batch as the broker holds it"
    )
    return dead_letter(
        "undecodable_batch",
        reason,
        topic=topic,
        partition=partition,
        offset=batch.first,
        key=None,
        value=batch,
        received_at=received_at,
        keep=keep,
        last_offset=batch.last,
    )


def encode_state(state: CustomerState) -> bytes:
    """The state as stored in the table, its changelog and RocksDB (scoring/state_codec.py: versioned MessagePack)."""
    return state_codec.encode_state(state)


def decode_state(raw: bytes) -> CustomerState:
    """A stored state of any version: MessagePack now, zlib JSON or plain JSON written by earlier versions."""
    return state_codec.decode_state(raw)
