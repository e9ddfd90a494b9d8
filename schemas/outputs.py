"""What healthscore publishes: score updates, churn-risk alerts and dead letters."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import CustomerId, EventId, Instant
from schemas.control import OverrideRequest
from schemas.events import CustomerProfile

Tier = Literal["healthy", "watch", "at_risk", "critical"]
Dimension = Literal["satisfaction", "loyalty", "activity", "financial"]
Segment = Literal["new", "dormant", "high_value_at_risk", "at_risk", "loyal", "high_potential", "steady"]
TIERS: tuple[Tier, ...] = get_args(Tier)
SEGMENTS: tuple[Segment, ...] = get_args(Segment)
Trigger = Literal["tier_entry", "score_drop", "purchase_overdue", "detractor_nps", "stale_ticket", "renewal_risk"]
Severity = Literal["normal", "high"]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Points = Annotated[float, Field(ge=0.0, le=100.0)]


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1


class DimensionScore(BaseModel):
    """One dimension's part of the score; `value` is None when nothing is known of it (it counts at its prior)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Dimension
    value: Unit | None
    weight: Unit
    contribution: Points


class ScoreUpdate(_Output):
    """A customer's health at `scored_at`, published whenever it changes.

    `weight` of each dimension is its share of the model; a dimension whose
    `value` is null counts at the model's prior, and the contributions add up to `score`.
    """

    customer_id: CustomerId
    score: Points
    tier: Tier
    previous_score: Points | None
    previous_tier: Tier | None
    confidence: Unit
    dimensions: list[DimensionScore]
    reasons: list[str]
    changes: list[str] = Field(description="what moved the score since the previous update, with points")
    change_7d: float | None = Field(description="score now minus the score 7 days ago, when known")
    change_30d: float | None = Field(description="score now minus the score 30 days ago, when known")
    segment: Segment
    clv_12m: Annotated[float, Field(ge=0.0)]
    purchase_cycle_days: float | None
    model_name: str
    model_version: str
    scored_at: Instant
    cause: Literal["event", "timer", "override"]
    event_id: EventId | None = None
    profile: CustomerProfile | None = Field(None, description="the customer's latest profile, when one was published")
    override: OverrideRequest | None = Field(None, description="the manual override in force, if any")
    computed_score: Points | None = Field(None, description="the model's own score, when an override changed it")


class ChurnRiskAlert(_Output):
    """A customer entered a risk tier; `alert_id` is stable so consumers can deduplicate."""

    alert_id: str
    customer_id: CustomerId
    trigger: Trigger
    severity: Severity = Field("normal", description="`high` for a renewal at risk: money is due soon")
    detail: str = Field(description="what fired, in plain words with numbers")
    tier: Tier
    previous_tier: Tier | None
    score: Points
    change_7d: float | None
    segment: Segment
    reasons: list[str]
    changes: list[str] = Field(description="what moved the score in this update, with points")
    raised_at: Instant
    model_name: str
    model_version: str
    event_id: EventId | None = None


DeadLetterError = Literal[
    "too_large",
    "invalid_encoding",
    "invalid_json",
    "validation",
    "future_timestamp",
    "too_old",
    "wrong_topic",
    "key_mismatch",
    "unknown_topic",
    "unknown_customer",
    "conflicting_duplicate",
    "processing_error",
    "undecodable_batch",
]
# Most bytes of a bad record's key kept in its dead letter; keys are ids, so this is generous.
MAX_DEAD_KEY_BYTES = 1024


class DeadLetter(_Output):
    """An input that could not be scored, with the reason and the bytes as they arrived.

    `error` is a small fixed vocabulary (metrics label, routing); `reason` is
    the message a person reads to fix the producer. The record's bytes are
    kept up to a bound, so a dead letter always fits what the producer may
    send, however large the record was; the length and SHA-256 of the whole
    value identify it beyond that prefix.
    """

    error: DeadLetterError
    reason: str
    topic: str
    partition: int
    offset: int
    key_base64: str | None = Field(description=f"the record's key, base64; its first {MAX_DEAD_KEY_BYTES} bytes")
    key_length: int | None = Field(None, ge=0, description="bytes in the whole key (null: the record had none)")
    value_base64: str = Field(
        description="the record's value as it arrived, base64; only a prefix when `value_truncated`"
    )
    value_length: int = Field(0, ge=0, description="bytes in the whole value")
    value_sha256: str = Field("", description="SHA-256 of the whole value, hex")
    value_truncated: bool = Field(False, description="`value_base64` holds only the first bytes of the value")
    last_offset: int | None = Field(
        None,
        ge=0,
        description="`undecodable_batch` only: the last offset of the record batch (`offset` is its first), whose raw "
        "bytes, compressed as they were, are the value",
    )
    received_at: Instant
