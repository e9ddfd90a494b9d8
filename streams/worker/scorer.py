"""The per-batch work of the worker: decode, fold, score, decide, publish, then store.

No arithmetic lives here; every number comes from `scoring.pipeline`.

Why outputs are delivered before state is written: a customer's state in the
changelog is what a restarted worker resumes from, and an event already in
that state is a duplicate on redelivery, which publishes nothing. If the
state could reach the broker before the event's ScoreUpdate and alerts, a
crash in between would lose them for good. So a batch publishes all its
outputs, waits until the broker has acknowledged them, and only then writes
each customer's final state once (one changelog record per customer per
batch); offsets are committed after that. A crash anywhere in the batch
replays it from the last commit: either the state lacks the events and they
are scored again with the same ids, or it has them and their outputs are
already on the broker.

Why no input can stop the worker: a failure while handling one record
(decoding, scoring, an output too large to send) dead-letters that record
alone and the batch goes on. A failure of the batch itself (the broker not
acknowledging, a store write failing) keeps the batch's records
uncommitted, seeks their partitions back and handles them again after a
pause that grows while failures repeat. Faust acknowledges a batch's
records when the agent moves past them, even when it moves past them with
an exception: records of a batch that did not finish are therefore held
(their reference count raised) so their offsets are never committed.

Why a batch may be dropped: a worker that may have lost its partitions
(streams/fencing.py) writes nothing. A batch that finds the fence closed,
before it starts or at any write, is held uncommitted and its outputs are
discarded, and so are records read in an earlier group generation than the
one the partitions are now assigned in: their owner handles them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import faust

from schemas.control import ErasureRequest, OverrideRequest
from schemas.events import Event, EventKind
from schemas.model_config import Model
from schemas.outputs import DeadLetter
from scoring.overrides import on_clock
from scoring.pipeline import Step, clock_for, customer_clock, next_review, scorable, step, step_override
from scoring.records import encode
from scoring.schedule import DueQueue, Schedule
from scoring.state import CustomerState, new_state
from streams.exceptions import Fenced
from streams.fencing import Fence, Unfenced
from streams.kafka.codecs import (
    DEAD_VALUE_BYTES,
    MAX_AGE,
    R,
    dead_letter,
    decode_event,
    decode_request,
    decode_state,
    encode_state,
    undecodable,
)
from streams.kafka.undecodable import UndecodableBatch
from streams.metrics import Metrics
from streams.snapshot.writer import RedisSink
from streams.worker.offsets import ConsumerPosition, OffsetGuard
from streams.worker.outputs import RECORD_OVERHEAD_BYTES, Outputs, OutputTooLarge, OutputTopic, StatesWriter, TableWrites

logger = logging.getLogger(__name__)
# Tail checks in a row without any record arriving before a partition read past its next record counts as stalled.
QUIET_CHECKS = 2
# Pause before a failed batch is handled again, doubling while failures repeat: a broker that is
# down is not hammered, and a fault that heals (a broker back) costs at most this long.
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
# Longest a batch waits for Redis to take its snapshots before it stores its states anyway (Scorer.commit).
SNAPSHOT_WAIT_SECONDS = 1.0


@dataclass
class Batch:
    """What one batch has done so far: states not yet stored, sends not yet acknowledged."""

    states: dict[bytes, CustomerState] = field(default_factory=dict)
    # Steps with an update, its JSON as sent, and the event kind that caused it (None: a timer or an override).
    scored: list[tuple[Step, bytes, str | None]] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)  # broker timestamps (s) of the records scored
    erased: dict[bytes, datetime] = field(default_factory=dict)  # customer key -> erased up to


class Decoded:
    """An input record as the batch's decoding pass left it: an event, its dead letter, the decoder's
    exception, or None for a control record; with the wall time it was read at."""

    __slots__ = ("wall", "value")

    def __init__(self, wall: datetime, value: Event | DeadLetter | Exception | None) -> None:
        self.wall, self.value = wall, value


@dataclass(frozen=True)
class ScorerConfig:
    """How the scorer reads its input, fixed at start-up (from Settings, streams/worker/app.py)."""

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
class Progress:
    """What the scorer keeps track of as it runs: offsets, the event-time watermark, quiet checks, failures."""

    guard: OffsetGuard = field(default_factory=OffsetGuard)
    seeks: set[asyncio.Future[None]] = field(default_factory=set)  # seeks under way, kept from the GC
    watermark: datetime | None = None  # newest event time this worker has scored
    # The agent and the timer both read, publish and write states; one at a time, or a timer
    # could store a state it read before a batch's write and so erase that batch's events.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    delivered: int = 0  # input records handed to the scorer so far
    quiet_checks: int = 0  # consecutive tail checks that saw no record arrive
    delivered_at_check: int = 0
    failures: int = 0  # batches failed in a row; sets the pause before the next try
    fenced: str | None = None  # why the fence closed, while it is closed (logged once per closing)
    starts: int = 0  # times the agent started: after the first, it resumes from committed offsets


@dataclass
class Scorer:
    """Handles input records against the state table; shared by the agent, the timer and tests."""

    table: faust.Table
    outputs: Outputs
    model: Model  # one model, or a set chosen per customer from the profile
    metrics: Metrics
    redis: RedisSink
    config: ScorerConfig
    # Customer key -> ISO instant up to which their events are erased: a suppression list, so a
    # redelivered or still-queued event cannot bring an erased customer back (a Faust table in the app).
    erasures: MutableMapping[bytes, bytes] = field(default_factory=dict)
    due: Schedule = field(default_factory=DueQueue)
    consumer: ConsumerPosition | None = None  # None (tests): every record counts as the next
    fence: Fence = field(default_factory=Unfenced)
    writer: StatesWriter | None = None  # None: straight into `table` (TableWrites)
    progress: Progress = field(default_factory=lambda: Progress())

    def partitions_assigned(self) -> None:
        """After a rebalance the consumer starts again from committed offsets: forget what the checks knew."""
        self.progress.guard.reset()

    def rebalancing(self) -> None:
        """A rebalance or changelog recovery holds records back on purpose: quiet checks start over after it."""
        self.progress.quiet_checks = 0

    @property
    def states(self) -> StatesWriter:
        return self.writer if self.writer is not None else TableWrites(self.table)

    def now(self) -> datetime | None:
        """The timer's `now`: the wall clock, or in event-time mode the watermark (None before any event)."""
        return datetime.now(timezone.utc) if self.config.clock == "wall" else self.progress.watermark

    async def start(self) -> None:
        """Called each time the agent starts: after a restart, every assigned partition resumes from its commit.

        An agent that crashed (for any reason) left the records it had taken
        unprocessed; Faust would hand its replacement only the records after them.
        """
        self.progress.starts += 1
        if self.progress.starts == 1 or self.consumer is None:
            return
        consumer = self.consumer
        for tp in consumer.assignment():
            resume = self.progress.guard.resume_point(tp)
            if resume is None:
                resume = consumer.committed_offset(tp)
            if resume is not None:
                # Records fetched for the dead agent that still arrive are then holes: fetched again in order.
                self.progress.guard.expected[tp] = resume
                self.progress.guard.reported.pop(tp, None)
                await consumer.seek(tp, resume)
        logger.warning("scoring agent restarted: assigned partitions resume after their last completed batch")

    async def handle(self, messages: Sequence[Any]) -> None:
        """Handle a batch; if it fails, keep its records uncommitted and fetch them again after a pause.

        Never raises but for cancellation, so the agent never crashes on its input.
        """
        reason = self.fence.lost()
        if reason is not None:
            self.drop(messages, reason)
            return
        stale = [m for m in messages if not self.fence.current(m.generation_id)]
        if stale:  # read before the group's last rebalance: the partitions' current owner handles them
            self.hold(stale)
            messages = [m for m in messages if self.fence.current(m.generation_id)]
        try:
            await self.handle_batch(messages)
        except Fenced as fenced:
            self.drop(messages, str(fenced))
        except asyncio.CancelledError:
            self.hold(messages)  # stopped mid-batch: the next owner handles these records
            raise
        except Exception:
            self.hold(messages)
            self.progress.failures += 1
            self.metrics.batch_failures.inc()
            pause = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** (self.progress.failures - 1))
            logger.exception("a batch of %d records failed (%d in a row): fetching them again in %.1f s",
                             len(messages), self.progress.failures, pause)  # fmt: skip
            await self.rewind(messages)
            await asyncio.sleep(pause)
        else:
            self.progress.failures = 0
            if self.progress.fenced is not None:
                logger.warning("this worker may write again: it rejoined its group (fenced because %s)",
                               self.progress.fenced)  # fmt: skip
                self.progress.fenced = None

    def hold(self, messages: Sequence[Any]) -> None:
        """Keep records from ever being acknowledged, so their offsets are not committed and they are read again.

        Faust acknowledges a batch's records once the agent moves past it, by
        lowering each record's reference count; one more reference keeps it
        unacknowledged. A rebalance waits for every record under way to be
        acknowledged: held records are taken off that list (`release`), or a
        worker whose batch was fenced would wait on them, and so would its group.
        """
        for message in messages:
            message.incref()
        if self.consumer is not None:
            self.consumer.release(messages)

    def drop(self, messages: Sequence[Any], reason: str) -> None:
        """Fenced: hold the batch uncommitted, discard what it queued, and expect its records again if they return.

        No seek: the rebalance that follows seeks every partition to its
        committed offset; if none follows, the next record of each partition
        reveals the hole and the offset checks fetch these again.
        """
        self.hold(messages)
        self.outputs.discard()
        for tp, offset in first_offsets(messages).items():
            self.progress.guard.expected[tp] = min(offset, self.progress.guard.expected.get(tp, offset))
        self.metrics.fenced_batches.inc()
        if self.progress.fenced is None:
            logger.warning("this worker may have lost its partitions (%s): it writes nothing until it has rejoined; "
                           "%d records dropped uncommitted", reason, len(messages))  # fmt: skip
        self.progress.fenced = reason

    async def rewind(self, messages: Sequence[Any]) -> None:
        """Seek each partition of a failed batch back to its first record, so the batch is fetched again."""
        if self.consumer is None:
            return
        for tp, offset in first_offsets(messages).items():
            # A hole already pending before this batch is further back still: keep that one.
            self.progress.guard.expected[tp] = min(offset, self.progress.guard.expected.get(tp, offset))
            await self.consumer.seek(tp, self.progress.guard.expected[tp])

    async def handle_batch(self, messages: Sequence[Any]) -> None:
        """Score a batch of input records in order; returns once outputs are acknowledged and states written."""
        self.progress.delivered += len(messages)
        async with self.progress.lock:
            self.metrics.batch_size.observe(len(messages))
            batch = Batch()
            handled: dict[Any, int] = {}
            for message, decoded in zip(messages, self._decode_inputs(messages), strict=True):
                if await self._continuous(message):
                    await self._guarded(message, batch, decoded)
                    handled[message.tp] = message.offset + 1
            await self.commit(batch)
            self.progress.guard.completed(handled)

    async def _continuous(self, message: Any) -> bool:
        """Whether `message` is the next record of its partition (see streams/worker/offsets.py); seeks back if not."""
        if self.consumer is None:
            return True
        through = message.offset if isinstance(message.value, UndecodableBatch) else None
        committed = self.consumer.committed_offset(message.tp)
        verdict = self.progress.guard.admit(message.tp, first_offset(message), committed, through)
        if verdict in ("hole", "seek"):
            self.hold([message])  # never acked from here: its offset must wait for the copy fetched again
            expected = self.progress.guard.expected[message.tp]
            if verdict == "hole":
                self.metrics.offset_holes.inc()
                logger.warning("offset %d of %s arrived before %d..%d: fetching those again",
                               message.offset, message.tp, expected, message.offset - 1)  # fmt: skip
            # In the background: the consumer thread may be waiting for this very batch to finish.
            self.progress.seeks.add(task := asyncio.ensure_future(self.consumer.seek(message.tp, expected)))
            task.add_done_callback(self.progress.seeks.discard)
        elif verdict == "rewind":
            logger.warning("offsets of %s went back to %d: topic recreated or offsets reset; processing on",
                           message.tp, message.offset)  # fmt: skip
        return verdict in ("process", "rewind")

    def unscored(self, read: Mapping[Any, int]) -> dict[Any, int]:
        """Per partition, the first record whose batch has not completed, from the consumer's `read` positions.

        Where the lag counts from: records fetched ahead and not yet scored are
        behind as much as records still on the broker.
        """
        if self.consumer is None:
            return dict(read)  # without offset checks nothing is tracked: the fetch position is all there is
        return {tp: next(p for p in (self.progress.guard.resume_point(tp), position) if p is not None)
                for tp, position in read.items()}  # fmt: skip

    async def recover_tails(self, positions: Mapping[Any, int]) -> int:
        """Seek back each partition read past records that never arrived (streams/worker/offsets.py); returns how many.

        Acts only after QUIET_CHECKS checks in a row in which no record came and
        no batch was running: records still on their way would otherwise look lost.
        """
        quiet = self.progress.delivered == self.progress.delivered_at_check and not self.progress.lock.locked()
        self.progress.delivered_at_check = self.progress.delivered
        self.progress.quiet_checks = self.progress.quiet_checks + 1 if quiet else 0
        if self.consumer is None:
            return 0
        healed = await self._anchor_first_records()
        if self.progress.quiet_checks < QUIET_CHECKS:
            return healed
        consumer = self.consumer
        # Partitions none of whose records arrived and with nothing committed: the consumer started at their first
        # record (offsets reset to earliest). Seen on the local broker after a kill -9: a restarted worker's consumer
        # read every partition to its end while none of the records reached the agent, and waited there forever.
        unknown = [tp for tp in positions if tp not in self.progress.guard.expected and consumer.committed_offset(tp) is None]
        first = await consumer.earliest(unknown) if unknown else {}
        stalled = self.progress.guard.behind(positions, lambda tp: first.get(tp, consumer.committed_offset(tp)))
        for tp, expected in stalled.items():
            self.metrics.offset_holes.inc()
            logger.warning("%s was read to offset %d but records from %d never arrived: fetching them again",
                           tp, positions[tp], expected)  # fmt: skip
            await self.consumer.seek(tp, expected)
        if stalled:
            self.progress.quiet_checks = 0
        return healed + len(stalled)

    async def _anchor_first_records(self) -> int:
        """Seek back each partition whose first record read came after its first record on the broker; how many.

        A partition with no committed offset is read from its first record; a
        first record that arrives later than that (seen: the first ten records
        of partitions published during the rebalance after a kill -9, never
        delivered) means the ones before it were skipped. They are fetched
        again, late but not lost; the dedup memory drops any already applied.
        """
        assert self.consumer is not None
        guard = self.progress.guard
        unanchored, guard.unanchored = sorted(guard.unanchored, key=str), set()
        first = await self.consumer.earliest(unanchored) if unanchored else {}
        skipped = {tp: offset for tp, offset in first.items() if offset < guard.origin.get(tp, offset)}
        for tp, offset in skipped.items():
            self.metrics.offset_holes.inc()
            logger.warning("%s had no committed offset and its first record read was %d, but the partition starts at "
                           "%d: fetching %d..%d again", tp, guard.origin[tp], offset, offset, guard.origin[tp] - 1)  # fmt: skip
            guard.expected[tp] = offset
            await self.consumer.seek(tp, offset)
        return len(skipped)

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

    def _decode_inputs(self, messages: Sequence[Any]) -> list[Decoded]:
        """Every record of a batch decoded, in one pass before any is scored, with the wall time it was read at.

        Why a pass of its own: the validator (pydantic's, in Rust) and the
        scorer each stay warm in the processor's caches when they run back to
        back over a batch; interleaved record by record they cost about a
        tenth more (benchmarks/perf/offline.py measures the worker's loop
        both ways). Decoding is pure, so only its cost moves: each record is
        still handled in order. Control records are decoded by their own
        handlers; a decoder failure is raised again when its record's turn comes.
        """
        out = []
        control = (self.config.erasure_topic, self.config.override_topic)
        for message in messages:
            wall = datetime.now(timezone.utc)
            if isinstance(message.value, UndecodableBatch):
                out.append(Decoded(wall, undecodable(message.value, topic=message.topic, partition=message.partition,
                                                     received_at=wall, keep=self.config.dead_value_bytes)))  # fmt: skip
                continue
            if message.topic in control:
                out.append(Decoded(wall, None))
                continue
            try:
                kind = self.config.kinds.get(message.topic)
                out.append(Decoded(wall, decode_event(
                    topic=message.topic, partition=message.partition, offset=message.offset, key=message.key,
                    value=message.value, expected_kind=kind, max_bytes=self.config.max_message_bytes,
                    received_at=wall, max_future=self.config.max_future, max_age=self.config.max_age,
                    keep=self.config.dead_value_bytes)))  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - dead-lettered when the record's turn comes (_guarded)
                out.append(Decoded(wall, exc))
        return out

    async def _guarded(self, message: Any, batch: Batch, decoded: Decoded) -> None:
        """Handle one record; whatever goes wrong with it dead-letters it alone, and the batch goes on."""
        try:
            await self._one(message, batch, decoded)
        except Fenced:
            raise  # not this record's failure: the whole batch is dropped (Scorer.drop)
        except Exception as exc:  # noqa: BLE001 - one record's failure must not stop the others
            logger.exception("record %s[%d]@%d could not be handled: dead-lettered", message.topic,
                             message.partition, message.offset)  # fmt: skip
            letter = self._dead(message, "processing_error",
                                f"the worker failed on this record ({type(exc).__name__}: {exc}); "
                                "report it with the record's coordinates", datetime.now(timezone.utc))  # fmt: skip
            await self.reject(letter, self.config.kinds.get(message.topic))

    def _dead(self, message: Any, error: Any, reason: str, wall: datetime) -> DeadLetter:
        return dead_letter(error, reason, topic=message.topic, partition=message.partition, offset=message.offset,
                           key=message.key, value=message.value, received_at=wall, keep=self.config.dead_value_bytes)  # fmt: skip

    async def _one(self, message: Any, batch: Batch, read: Decoded) -> None:
        wall, decoded = read.wall, read.value
        if isinstance(decoded, DeadLetter) and decoded.last_offset is not None:  # a batch that could not be decoded
            await self.reject(decoded, self.config.kinds.get(message.topic))
            return
        if message.topic == self.config.erasure_topic:
            await self._erase(message, batch, wall)
            return
        if message.topic == self.config.override_topic:
            await self._override(message, batch, wall)
            return
        if isinstance(decoded, Exception):
            raise decoded
        kind = self.config.kinds.get(message.topic)
        if isinstance(decoded, DeadLetter):
            await self.reject(decoded, kind)
            return
        key = decoded.customer_id.encode("utf-8")
        erased = self.erased_until(key, batch)
        if erased is not None and decoded.occurred_at <= erased:
            self.metrics.events.labels(decoded.kind, "erased").inc()
            return
        state = self.state_of(key, batch)
        if state is None and decoded.kind == "survey" and self.config.surveys_need_known_customer:
            reason = (f"survey for customer {decoded.customer_id!r}, who has no purchase, visit or ticket yet; "
                      "surveys are only scored for known customers")  # fmt: skip
            await self._unknown_customer(message, reason, kind, batch, wall)
            return
        now = self._event_now(decoded, state, wall)
        with self._undoable(key, state, batch):
            result = step(state or new_state(decoded.customer_id), decoded, self.model, now)
            if result.conflict:
                reason = (f"event_id {decoded.event_id!r} was already applied with different content; an event id "
                          "must name one event (a redelivery repeats it exactly)")  # fmt: skip
                letter = self._dead(message, "conflicting_duplicate", reason, wall)
                await self.reject(letter, kind)
                return
            if result.duplicate:
                self.metrics.events.labels(decoded.kind, "duplicate").inc()
                return
            await self.publish(key, result, batch, cause=decoded.kind)
        self.metrics.events.labels(decoded.kind, "scored" if result.update is not None else "stored").inc()
        if message.timestamp:
            batch.stamps.append(message.timestamp)  # Faust gives seconds
        self.due.schedule(decoded.customer_id, next_review(result.state, self.model, now))

    async def _erase(self, message: Any, batch: Batch, wall: datetime) -> None:
        """Drop the customer from this batch and tell score consumers with a tombstone; commit does the rest."""
        request = await self._request(ErasureRequest, message, batch, wall)
        if request is None:
            return
        key = request.customer_id.encode("utf-8")
        batch.states.pop(key, None)
        batch.scored = [scored for scored in batch.scored if scored[0].state.customer_id != request.customer_id]
        batch.erased[key] = max(request.requested_at, self.erased_until(key, batch) or request.requested_at)
        # A null value keyed by the customer: compacted copies of the scores topic drop them.
        await self.outputs.scores.send(key=key, value=None)
        logger.info("erasure request %s accepted", request.request_id)  # the customer id is personal data

    async def _request(self, request_type: type[R], message: Any, batch: Batch, wall: datetime) -> R | None:
        """A control record decoded, or None once it has been dead-lettered."""
        request = decode_request(request_type, topic=message.topic, partition=message.partition,
                                 offset=message.offset, key=message.key, value=message.value,
                                 max_bytes=self.config.max_message_bytes, received_at=wall,
                                 keep=self.config.dead_value_bytes)  # fmt: skip
        if isinstance(request, DeadLetter):
            await self.reject(request, None)
            return None
        return request

    async def _unknown_customer(self, message: Any, reason: str, kind: EventKind | None, batch: Batch,
                                wall: datetime) -> None:  # fmt: skip
        await self.reject(self._dead(message, "unknown_customer", reason, wall), kind)

    async def _override(self, message: Any, batch: Batch, wall: datetime) -> None:
        """A person's override: applied to the customer's state and published with its audit records."""
        request = await self._request(OverrideRequest, message, batch, wall)
        if request is None:
            return
        key = request.customer_id.encode("utf-8")
        state = self.state_of(key, batch)
        if state is None or not scorable(state):
            reason = (f"override for customer {request.customer_id!r}, who has not been scored yet; "
                      "an override corrects a score, so there must be one")  # fmt: skip
            await self._unknown_customer(message, reason, None, batch, wall)
            return
        if self.config.clock == "event":  # on the customer's clock, which a person's wall-clock stamp must not move
            now = customer_clock(state) or request.requested_at
            request = on_clock(request, now)
        else:
            now = wall
        with self._undoable(key, state, batch):
            result = step_override(state, request, self.model, now)
            if result.duplicate:
                return
            await self.publish(key, result, batch)
        self.due.schedule(request.customer_id, next_review(result.state, self.model, now))

    @contextmanager
    def _undoable(self, key: bytes, state: CustomerState | None, batch: Batch) -> Iterator[None]:
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

    def _event_now(self, event: Event, state: CustomerState | None, wall: datetime) -> datetime:
        if self.config.clock == "wall":
            return wall
        now = clock_for(state, event)
        self.progress.watermark = max(now, self.progress.watermark or now)
        return now

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
                raise OutputTooLarge(f"an output of {len(value)} bytes is over the producer's limit of "
                                     f"{self.config.max_output_bytes}")  # fmt: skip
        for topic, value in records:
            await topic.send(key=key, value=value)
        batch.states[key] = result.state
        if update is not None:
            batch.scored.append((result, update, cause))
        for record in result.audits:
            self.metrics.overrides.labels(record.action).inc()

    async def commit(self, batch: Batch) -> None:
        """Outputs acknowledged, then the Redis snapshot offered, then each customer's final state stored once.

        Redis comes before the states: once a state is stored, its events are
        duplicates to whoever reads them again, so their updates would never
        be offered again. While Redis is failing, batches do not wait for it;
        a state stored then keeps its customer's last update
        (`unconfirmed_update`), and whoever restores it offers it again
        (streams/worker/timers.py).
        """
        await self.outputs.flush()
        writes: dict[bytes, bytes | None] = {}
        for key, until in batch.erased.items():  # before states: a customer may be back after the erasure
            writes[key] = None  # a changelog tombstone
            self.erasures[key] = until.isoformat().encode("ascii")
            customer_id = key.decode("utf-8")
            self.redis.erase(customer_id)
            self.due.schedule(customer_id, None)
            self.metrics.erasures.inc()
        latest: dict[bytes, bytes] = {}
        for result, encoded, cause in batch.scored:  # each with its update
            assert result.update is not None
            self.redis.offer(result.update, encoded, cause, result.alerts)
            self.metrics.scored(result.update, result.alerts)
            latest[result.update.customer_id.encode("utf-8")] = encoded
        confirmed = await self.redis.confirm(SNAPSHOT_WAIT_SECONDS) if batch.scored or batch.erased else False
        for key, state in batch.states.items():
            if confirmed:
                state.unconfirmed_update = b""
            elif key in latest:
                state.unconfirmed_update = latest[key]
            writes[key] = encode_state(state)
        await self.states.write(writes)
        acknowledged = time.time()
        for stamp in batch.stamps:
            self.metrics.observe_latency(acknowledged - stamp)




def first_offsets(messages: Sequence[Any]) -> dict[Any, int]:
    """Per partition, the first offset of these records."""
    first: dict[Any, int] = {}
    for message in messages:
        offset = first_offset(message)
        first[message.tp] = min(offset, first.get(message.tp, offset))
    return first


def first_offset(message: Any) -> int:
    """The first offset a record stands for: its own, or an undecodable batch's first (its own is the batch's last)."""
    return message.value.first if isinstance(message.value, UndecodableBatch) else message.offset
