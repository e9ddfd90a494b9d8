"""What the worker does with each input record of a batch: decode it, then score it, apply it or dead-letter it.

No arithmetic lives here; every number comes from `scoring.pipeline`. A
record's outputs are queued on the output topics and its customer's newest
state kept in the batch (`Batch`); the checkpoint (streams/worker/checkpoint.py)
stores them once the batch is done. A failure while handling one record
(decoding, scoring, an output too large to send) dead-letters that record
alone and the batch goes on; a fence that closes (streams/fencing.py) is no
record's failure and fails the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal, TypedDict

from schemas.control import ErasureRequest, OverrideRequest
from schemas.events import Event, EventKind
from schemas.model_config import Model
from schemas.outputs import DeadLetter, DeadLetterError
from scoring.overrides import on_clock
from scoring.pipeline import Step, clock_for, customer_clock, next_review, scorable, step, step_override
from scoring.records import encode
from scoring.state import CustomerState, new_state
from streams.exceptions import Fenced
from streams.kafka.codecs import (
    DEAD_VALUE_BYTES,
    MAX_AGE,
    dead_letter,
    decode_event,
    decode_request,
    decode_state,
    encode_state,
    undecodable,
)
from streams.kafka.undecodable import UndecodableBatch
from streams.metrics import Metrics
from streams.worker.outputs import RECORD_OVERHEAD_BYTES, Outputs, OutputTooLarge, OutputTopic
from streams.worker.record import Record
from streams.worker.watermark import Watermark

logger = logging.getLogger(__name__)


class _Where(TypedDict):
    """Where a record came from and when it arrived: what every decoder's dead letter names."""

    topic: str
    partition: int
    received_at: datetime


class _Raw(_Where):
    """A record as the decoders of streams/kafka/codecs.py take it."""

    offset: int
    key: bytes | None
    value: bytes | None
    max_bytes: int
    keep: int


# What the decoding pass makes of a record: what it asks for, or the dead letter saying why it cannot be used.
Decoded = Event | ErasureRequest | OverrideRequest | DeadLetter


@dataclass
class Batch:
    """What one batch (or timer tick) has done so far: states not yet stored, sends not yet acknowledged."""

    states: dict[bytes, CustomerState] = field(default_factory=dict)
    # Steps with an update, its JSON as sent, and the event kind that caused it (None: a timer or an override).
    scored: list[tuple[Step, bytes, str | None]] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)  # broker timestamps (s) of the records scored
    erased: dict[bytes, datetime] = field(default_factory=dict)  # customer key -> erased up to
    # Customer id -> when the inactivity timer looks at them next (None: never), scheduled once stored.
    reviews: dict[str, datetime | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ScorerConfig:
    """How the worker reads its input, fixed at start-up (from Settings, streams/worker/app.py)."""

    kinds: dict[str, EventKind]  # input topic -> the event kind it carries
    max_message_bytes: int
    max_future: timedelta
    clock: Literal["wall", "event"]
    max_age: timedelta = MAX_AGE
    dead_value_bytes: int = DEAD_VALUE_BYTES  # bytes of a bad record's value its dead letter keeps
    max_output_bytes: int = 1_000_000 - RECORD_OVERHEAD_BYTES  # the producer refuses larger records
    surveys_need_known_customer: bool = False
    erasure_topic: str | None = None
    override_topic: str | None = None


@dataclass
class Handler:
    """Decodes and handles input records against the state table, into a Batch."""

    config: ScorerConfig
    model: Model  # one model, or a set chosen per customer from the profile
    table: Mapping[bytes, bytes]  # the state table, read here; the checkpoint writes it
    outputs: Outputs
    metrics: Metrics
    # Customer key -> ISO instant up to which their events are erased: a suppression list, so a
    # redelivered or still-queued event cannot bring an erased customer back (a Faust table in the app).
    erasures: MutableMapping[bytes, bytes] = field(default_factory=dict)
    event_time: Watermark = field(default_factory=Watermark)  # the timer's and the API's `now` on the event clock

    def decode(self, records: Sequence[Record]) -> list[Decoded]:
        """Every record of a batch decoded, in one pass before any is handled.

        Why a pass of its own: the validator (pydantic's, in Rust) and the
        scorer each stay warm in the processor's caches when they run back to
        back over a batch; interleaved record by record they cost about a
        tenth more (benchmarks/perf/offline.py measures the worker's loop
        both ways). Decoding is pure, so only its cost moves: each record is
        still handled in order. A decoder that fails makes its record's dead
        letter here, sent when the record's turn comes.
        """
        out: list[Decoded] = []
        for record in records:
            wall = datetime.now(timezone.utc)
            try:
                out.append(self._decode(record, wall))
            except Exception as exc:  # noqa: BLE001 - one record's failure must not stop the others
                out.append(self._failed(record, exc, wall))
        return out

    def _decode(self, record: Record, wall: datetime) -> Decoded:
        config = self.config
        where: _Where = {"topic": record.topic, "partition": record.partition, "received_at": wall}
        if isinstance(record.value, UndecodableBatch):
            return undecodable(record.value, keep=config.dead_value_bytes, **where)
        raw: _Raw = {
            "offset": record.offset,
            "key": record.key,
            "value": record.value,
            "max_bytes": config.max_message_bytes,
            "keep": config.dead_value_bytes,
            **where,
        }
        if record.topic == config.erasure_topic:
            return decode_request(ErasureRequest, **raw)
        if record.topic == config.override_topic:
            return decode_request(OverrideRequest, **raw)
        return decode_event(
            expected_kind=config.kinds.get(record.topic), max_future=config.max_future, max_age=config.max_age, **raw
        )

    def _failed(self, record: Record, exc: BaseException, wall: datetime) -> DeadLetter:
        logger.error(
            "record %s[%d]@%d could not be handled: dead-lettered",
            record.topic,
            record.partition,
            record.offset,
            exc_info=exc,
        )
        reason = (
            f"the worker failed on this record ({type(exc).__name__}: {exc}); report it with the record's coordinates"
        )
        return self._dead(record, "processing_error", reason, wall)

    def _dead(self, record: Record, error: DeadLetterError, reason: str, wall: datetime) -> DeadLetter:
        return dead_letter(
            error,
            reason,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            received_at=wall,
            keep=self.config.dead_value_bytes,
        )

    async def handle(self, record: Record, decoded: Decoded, batch: Batch) -> None:
        """Handle one decoded record; whatever goes wrong with it dead-letters it alone, and the batch goes on."""
        try:
            await self._dispatch(record, decoded, batch)
        except Fenced:
            raise  # not this record's failure: the whole batch is dropped (Scorer.drop)
        except Exception as exc:  # noqa: BLE001 - one record's failure must not stop the others
            await self.reject(
                self._failed(record, exc, datetime.now(timezone.utc)), self.config.kinds.get(record.topic)
            )

    async def _dispatch(self, record: Record, decoded: Decoded, batch: Batch) -> None:
        if isinstance(decoded, DeadLetter):
            await self.reject(decoded, self.config.kinds.get(record.topic))
        elif isinstance(decoded, ErasureRequest):
            await self._erase(decoded, batch)
        elif isinstance(decoded, OverrideRequest):
            await self._override(record, decoded, batch)
        else:
            await self._event(record, decoded, batch)

    async def _event(self, record: Record, event: Event, batch: Batch) -> None:
        wall = datetime.now(timezone.utc)
        key = event.customer_id.encode("utf-8")
        erased = self.erased_until(key, batch)
        if erased is not None and event.occurred_at <= erased:
            self.metrics.events.labels(event.kind, "erased").inc()
            return
        state = self.state_of(key, batch)
        if state is None and event.kind == "survey" and self.config.surveys_need_known_customer:
            reason = (
                f"survey for customer {event.customer_id!r}, who has no purchase, visit or ticket yet; "
                "surveys are only scored for known customers"
            )
            await self.reject(self._dead(record, "unknown_customer", reason, wall), event.kind)
            return
        now = self._clock(event, state, wall)
        if self.config.clock == "event" and event.kind != "profile":  # a profile moves no clock
            self.event_time.saw(record.tp, event.occurred_at, time.monotonic())
        with undoable(key, state, batch):
            result = step(state or new_state(event.customer_id), event, self.model, now)
            if result.conflict:
                reason = (
                    f"event_id {event.event_id!r} was already applied with different content; an event id "
                    "must name one event (a redelivery repeats it exactly)"
                )
                await self.reject(self._dead(record, "conflicting_duplicate", reason, wall), event.kind)
                return
            if result.duplicate:
                self.metrics.events.labels(event.kind, "duplicate").inc()
                return
            await self.publish(key, result, batch, cause=event.kind)
        self.metrics.events.labels(event.kind, "scored" if result.update is not None else "stored").inc()
        if record.timestamp:
            batch.stamps.append(record.timestamp)  # Faust gives seconds
        batch.reviews[event.customer_id] = next_review(result.state, self.model, now)

    async def _erase(self, request: ErasureRequest, batch: Batch) -> None:
        """Drop the customer from this batch and tell score consumers with a tombstone; the checkpoint does the rest."""
        key = request.customer_id.encode("utf-8")
        batch.states.pop(key, None)
        batch.scored = [scored for scored in batch.scored if scored[0].state.customer_id != request.customer_id]
        batch.erased[key] = max(request.requested_at, self.erased_until(key, batch) or request.requested_at)
        batch.reviews[request.customer_id] = None
        # A null value keyed by the customer: compacted copies of the scores topic drop them.
        await self.outputs.scores.send(key=key, value=None)
        logger.info("erasure request %s accepted", request.request_id)  # the customer id is personal data

    async def _override(self, record: Record, request: OverrideRequest, batch: Batch) -> None:
        """A person's override: applied to the customer's state and published with its audit records."""
        key = request.customer_id.encode("utf-8")
        state = self.state_of(key, batch)
        if state is None or not scorable(state):
            reason = (
                f"override for customer {request.customer_id!r}, who has not been scored yet; "
                "an override corrects a score, so there must be one"
            )
            await self.reject(self._dead(record, "unknown_customer", reason, datetime.now(timezone.utc)), None)
            return
        if self.config.clock == "event":  # on the customer's clock, which a person's wall-clock stamp must not move
            now = customer_clock(state) or request.requested_at
            request = on_clock(request, now)
        else:
            now = datetime.now(timezone.utc)
        with undoable(key, state, batch):
            result = step_override(state, request, self.model, now)
            if result.duplicate:
                return
            await self.publish(key, result, batch)
        batch.reviews[request.customer_id] = next_review(result.state, self.model, now)

    def _clock(self, event: Event, state: CustomerState | None, wall: datetime) -> datetime:
        if self.config.clock == "wall":
            return wall
        return clock_for(state, event)

    def state_of(self, key: bytes, batch: Batch) -> CustomerState | None:
        """The customer's newest state: this batch's, else the table's, else None."""
        if key in batch.states:
            return batch.states[key]
        if key in batch.erased:
            return None
        raw = self.table.get(key)
        return decode_state(raw) if raw else None

    def erased_until(self, key: bytes, batch: Batch) -> datetime | None:
        if key in batch.erased:
            return batch.erased[key]
        raw = self.erasures.get(key)
        return datetime.fromisoformat(raw.decode("ascii")) if raw else None

    async def reject(self, letter: DeadLetter, kind: EventKind | None) -> None:
        """Dead-letter a record: the topic gets reason and bytes; the log gets neither payload nor personal data."""
        await self.outputs.deadletter.send(key=None, value=letter.model_dump_json().encode())
        self.metrics.dead_letters.labels(letter.error).inc()
        self.metrics.events.labels(kind or "unknown", "dead_letter").inc()
        if letter.last_offset is not None:
            logger.error("%s[%d]: %s", letter.topic, letter.partition, letter.reason)
            return
        logger.info("dead letter %s at %s[%d]@%d", letter.error, letter.topic, letter.partition, letter.offset)

    async def publish(self, key: bytes, result: Step, batch: Batch, cause: str | None = None) -> None:
        """Send a step's ScoreUpdate, alerts and audit records and keep its state for the batch's write.

        `cause` is the kind of the event scored, which the score history keeps.

        Every output is encoded and measured before the first is sent: an
        output the producer would refuse fails the record (OutputTooLarge)
        with nothing of it sent and its state left as it was.
        """
        update = encode(result.update) if result.update is not None else None
        records: list[tuple[OutputTopic, bytes]] = []
        if update is not None:
            records.append((self.outputs.scores, update))
        records += [(self.outputs.alerts, encode(alert)) for alert in result.alerts]
        if result.audits:
            assert self.outputs.audit is not None, "an override without an audit topic"
            records += [(self.outputs.audit, encode(record)) for record in result.audits]
        for _, value in records:
            if len(key) + len(value) > self.config.max_output_bytes:
                raise OutputTooLarge(
                    f"an output of {len(value)} bytes is over the producer's limit of {self.config.max_output_bytes}"
                )
        for topic, value in records:
            await topic.send(key=key, value=value)
        batch.states[key] = result.state
        if update is not None:
            batch.scored.append((result, update, cause))
        for record in result.audits:
            self.metrics.overrides.labels(record.action).inc()


@contextmanager
def undoable(key: bytes, state: CustomerState | None, batch: Batch) -> Iterator[None]:
    """Put the batch's state of the customer back as it was if handling this record fails midway.

    A step changes the state in place; the batch's earlier events of the
    customer are in it, and their outputs already sent, so it must survive
    a record that fails after changing it. A copy as bytes costs about a microsecond.
    """
    undo = encode_state(state) if state is not None and batch.states.get(key) is state else None
    try:
        yield
    except BaseException:
        if undo is not None:
            batch.states[key] = decode_state(undo)
        raise
