"""The per-record work of the worker: decode, fold, score, decide, publish.

No arithmetic lives here; every number comes from `scoring.pipeline`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import faust

from schemas.events import EventKind
from schemas.model_config import ScoringModel
from schemas.outputs import DeadLetter
from scoring.pipeline import Step, next_review, step
from scoring.schedule import DueQueue
from scoring.state import new_state
from streams.codecs import dead_letter, decode_event, decode_state, encode_state
from streams.metrics import Metrics
from streams.redis_sink import RedisSink

logger = logging.getLogger(__name__)


@dataclass
class Outputs:
    scores: faust.TopicT
    alerts: faust.TopicT
    deadletter: faust.TopicT


@dataclass
class Scorer:
    """Handles one input record against the state table; shared by the agent, the timer and tests."""

    table: faust.Table
    outputs: Outputs
    model: ScoringModel
    metrics: Metrics
    redis: RedisSink
    kinds: dict[str, EventKind]
    max_message_bytes: int
    max_future: timedelta
    clock: Literal["wall", "event"]
    surveys_need_known_customer: bool = True
    due: DueQueue = field(default_factory=DueQueue)
    watermark: datetime | None = None  # newest event time this worker has scored

    def now(self) -> datetime | None:
        """The timer's `now`: the wall clock, or in event-time mode the watermark (None before any event)."""
        return datetime.now(timezone.utc) if self.clock == "wall" else self.watermark

    async def handle(self, message: Any) -> None:
        wall = datetime.now(timezone.utc)
        kind = self.kinds.get(message.topic)
        decoded = decode_event(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
            expected_kind=kind,
            max_bytes=self.max_message_bytes,
            received_at=wall,
            max_future=self.max_future,
        )
        if isinstance(decoded, DeadLetter):
            await self.reject(decoded, kind)
            return
        key = decoded.customer_id.encode("utf-8")
        raw = self.table.get(key)
        if raw is None and decoded.kind == "survey" and self.surveys_need_known_customer:
            reason = (f"survey for customer {decoded.customer_id!r}, who has no purchase, visit or ticket yet; "
                      "surveys are only scored for known customers")  # fmt: skip
            await self.reject(dead_letter("unknown_customer", reason, topic=message.topic, partition=message.partition,
                                          offset=message.offset, key=message.key, value=message.value,
                                          received_at=wall), kind)  # fmt: skip
            return
        state = decode_state(raw) if raw else new_state(decoded.customer_id)
        if self.clock == "event":
            now = max(decoded.occurred_at, state.last_event_at or decoded.occurred_at)
            self.watermark = max(now, self.watermark or now)
        else:
            now = wall
        result = step(state, decoded, self.model, now)
        if result.duplicate or result.update is None:
            self.metrics.events.labels(decoded.kind, "duplicate").inc()
            return
        latency = time.time() - message.timestamp if message.timestamp else None  # Faust gives seconds
        # Outputs before state: if the worker dies between the two, the event is not yet in the
        # state, so its redelivery is scored again and re-sends the same ids instead of being lost.
        await self.publish(key, result, latency, decoded.kind)
        self.table[key] = encode_state(result.state)
        self.due.schedule(decoded.customer_id, next_review(result.state, self.model, now))

    async def reject(self, letter: DeadLetter, kind: EventKind | None) -> None:
        """Dead-letter a record: the topic gets reason and bytes; the log gets neither payload nor personal data."""
        await self.outputs.deadletter.send(key=None, value=letter.model_dump_json().encode())
        self.metrics.dead_letters.labels(letter.error).inc()
        self.metrics.events.labels(kind or "unknown", "dead_letter").inc()
        logger.info("dead letter %s at %s[%d]@%d", letter.error, letter.topic, letter.partition, letter.offset)

    async def publish(self, key: bytes, result: Step, latency: float | None, kind: EventKind | None) -> None:
        """Send a step's ScoreUpdate and alerts, queue the Redis snapshot and count it all."""
        if result.update is None:
            return
        await self.outputs.scores.send(key=key, value=result.update.model_dump_json().encode())
        for alert in result.alerts:
            await self.outputs.alerts.send(key=key, value=alert.model_dump_json().encode())
        self.redis.offer(result.update)
        if kind is not None:
            self.metrics.events.labels(kind, "scored").inc()
        self.metrics.scored(result.update, result.alerts, latency)
