"""Requests that change what healthscore keeps rather than what it scores."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.common import CustomerId, Identifier, Instant, Timestamp, when


class ErasureRequest(BaseModel):
    """Forget a customer, for a data-protection request (right to erasure).

    Everything healthscore holds about the customer goes: state, Redis
    snapshot, pending timer checks; their events that occurred up to
    `requested_at` are never scored again, even when they are redelivered or
    still waiting in an input topic. Events after it start a new customer.
    `reason` is for the audit trail of whoever sends it and is never logged.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)  # JSON types as the schema says (see _Event)

    kind: Literal["erasure"] = "erasure"
    request_id: Identifier
    customer_id: CustomerId
    requested_at: Timestamp
    reason: str = Field("", max_length=1000)


OverrideAction = Literal["pin_score", "pin_tier", "adjust", "clear"]
MAX_ADJUSTMENT = 30.0  # points; a larger correction is a pin, and should say so
# The one value each action takes; `clear` takes none, and only `clear` needs no expires_at.
ACTION_VALUE: dict[OverrideAction, str | None] = {
    "pin_score": "score",
    "pin_tier": "tier",
    "adjust": "adjustment",
    "clear": None,
}
VALUES = ("score", "tier", "adjustment")


def _override_schema(schema: dict[str, Any], model: type) -> None:
    """`_consistent` in JSON Schema, but for expires_at after requested_at: no schema compares two fields."""
    rules = []
    for action, value in ACTION_VALUE.items():
        needed = [] if value is None else [value, "expires_at"]
        # An absent field and a null one are both "not given".
        properties: dict[str, Any] = {name: {"type": "null"} for name in VALUES if name != value}
        properties |= {name: {"not": {"type": "null"}} for name in needed}
        rules.append(when("action", action, {"required": needed, "properties": properties}))
    schema["allOf"] = rules


class OverrideRequest(BaseModel):
    """A person's correction of a customer's score: pin it, pin the tier, or nudge it, until `expires_at`.

    `clear` ends the customer's active override early. Every request needs a
    reason and an author: they are shown with the score and kept on the
    audit topic. The override lives in the customer's state, so it survives
    restarts and every re-score, and ends by itself at its expiry.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, strict=True, json_schema_extra=_override_schema
    )

    request_id: Identifier
    customer_id: CustomerId
    action: OverrideAction
    score: Annotated[float, Field(ge=0.0, le=100.0)] | None = None
    tier: Literal["healthy", "watch", "at_risk", "critical"] | None = None
    adjustment: Annotated[float, Field(ge=-MAX_ADJUSTMENT, le=MAX_ADJUSTMENT)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    author: Annotated[str, Field(min_length=1, max_length=128)]
    requested_at: Timestamp
    expires_at: Timestamp | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OverrideRequest:
        needed = ACTION_VALUE[self.action]
        given = [name for name in VALUES if getattr(self, name) is not None]
        if given != ([needed] if needed else []):
            wanted = f"exactly `{needed}`" if needed else "none of score, tier, adjustment"
            raise ValueError(f"{self.action} takes {wanted}; got {', '.join(given) or 'none'}")
        if self.action != "clear" and (self.expires_at is None or self.expires_at <= self.requested_at):
            raise ValueError("an override needs expires_at after requested_at: overrides always end")
        return self


AuditAction = Literal["applied", "replaced", "cleared", "expired"]


class AuditRecord(BaseModel):
    """One change to a customer's override, for the audit topic: who, what, why and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    audit_id: str  # deterministic: a redelivered request repeats the same record
    customer_id: CustomerId
    action: AuditAction
    override: OverrideRequest  # the override that began or ended
    by: str  # the request's author, or "healthscore" when it expired
    reason: str
    at: Instant
