"""What a step emits, as msgspec Structs that encode straight to the wire contract's JSON.

The contract is pydantic (schemas/outputs.py, schemas/control.py): its models
generate the published JSON Schemas and validate what arrives. The worker's
own outputs are built here instead, field for field in the contract's order,
and encoded without a second validation: building and dumping a pydantic
ScoreUpdate per event was about a fifth of the scoring time. A test keeps
the field names and order of each record equal to its pydantic model, and a
property test validates every record the worker emits over generated event
streams against that model.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from scoring.state import Override, Profile

_encoder = msgspec.json.Encoder()


def encode(record: msgspec.Struct) -> bytes:
    """A record as the JSON its topic carries."""
    return _encoder.encode(record)


def decode_update(raw: bytes) -> ScoreRecord:
    """A ScoreUpdate's JSON as `encode` wrote it, back into its record."""
    return msgspec.json.decode(raw, type=ScoreRecord)


class DimensionScore(msgspec.Struct):
    """schemas.outputs.DimensionScore: one dimension's part of the score."""

    name: str
    value: float | None
    weight: float
    contribution: float


class ScoreRecord(msgspec.Struct, kw_only=True):
    """schemas.outputs.ScoreUpdate."""

    schema_version: int = 1
    customer_id: str
    score: float
    tier: str
    previous_score: float | None
    previous_tier: str | None
    confidence: float
    dimensions: tuple[DimensionScore, ...]
    reasons: list[str]
    changes: list[str]
    change_7d: float | None
    change_30d: float | None
    segment: str
    clv_12m: float
    purchase_cycle_days: float | None
    model_name: str
    model_version: str
    scored_at: datetime
    cause: str
    event_id: str | None = None
    profile: Profile | None = None
    override: Override | None = None
    computed_score: float | None = None


class AlertRecord(msgspec.Struct, kw_only=True):
    """schemas.outputs.ChurnRiskAlert."""

    schema_version: int = 1
    alert_id: str
    customer_id: str
    trigger: str
    severity: str = "normal"
    detail: str
    tier: str
    previous_tier: str | None
    score: float
    change_7d: float | None
    segment: str
    reasons: list[str]
    changes: list[str]
    raised_at: datetime
    model_name: str
    model_version: str
    event_id: str | None = None


class AuditEntry(msgspec.Struct, kw_only=True):
    """schemas.control.AuditRecord: one change to a customer's override."""

    audit_id: str
    customer_id: str
    action: str
    override: Override
    by: str
    reason: str
    at: datetime
