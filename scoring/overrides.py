"""Manual overrides: a person's correction on top of the model, until it is cleared or expires.

The override is applied to the model's assessment on every re-score, so a
recompute never loses it; the alert policy, the history and the segment see
the overridden score, because the override is the team's judgement of the
customer. The model's own score stays visible as `computed_score`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from schemas.control import AuditAction, OverrideRequest
from schemas.model_config import TierThresholds
from schemas.outputs import Tier
from scoring.instants import to_us
from scoring.model import Assessment, tier_for
from scoring.records import AuditEntry
from scoring.seen import recall, remember, time_of
from scoring.state import CustomerState, Override

# A fixed namespace makes audit ids reproducible across restarts and redeliveries.
AUDIT_NAMESPACE = uuid.UUID("0c9e1f5e-6f51-4d0f-b0a4-2f7d5d1a9e63")
EXPIRY_AUTHOR = "healthscore"


def audit(customer_id: str, action: AuditAction, override: Override, by: str, reason: str, at: datetime) -> AuditEntry:
    key = f"{customer_id}|{override.request_id}|{action}"
    return AuditEntry(
        audit_id=str(uuid.uuid5(AUDIT_NAMESPACE, key)),
        customer_id=customer_id,
        action=action,
        override=override,
        by=by,
        reason=reason,
        at=at,
    )


def describe(override: Override | OverrideRequest) -> str:
    if override.action == "pin_score":
        what = f"score pinned at {override.score:.1f}"
    elif override.action == "pin_tier":
        what = f"tier pinned at {override.tier}"
    elif override.action == "adjust":
        what = f"score adjusted by {override.adjustment:+.1f}"
    else:
        what = "override cleared"
    return f"{what} by {override.author}: {override.reason}"


def as_override(request: OverrideRequest) -> Override:
    """The request as the state keeps it and the outputs carry it."""
    return Override(
        request_id=request.request_id,
        customer_id=request.customer_id,
        action=request.action,
        score=request.score,
        tier=request.tier,
        adjustment=request.adjustment,
        reason=request.reason,
        author=request.author,
        requested_at=request.requested_at,
        expires_at=request.expires_at,
    )


def on_clock(request: OverrideRequest, now: datetime) -> OverrideRequest:
    """The request as of the customer's clock `now`: asked for then, ending as long after it as it was asked to.

    On the event-time clock a customer's `now` is their own time, which can be
    months from the wall clock a person stamped the request with; moved onto
    it, the override expires by the clock it was applied on.
    """
    if request.requested_at == now:
        return request
    shift = now - request.requested_at
    expires = None if request.expires_at is None else request.expires_at + shift
    return request.model_copy(update={"requested_at": now, "expires_at": expires})


def effective(result: Assessment, override: Override | None, tiers: TierThresholds) -> Assessment:
    """The assessment as the override has it; unchanged without one."""
    if override is None or override.action == "clear":
        return result
    if override.action == "pin_tier":
        return result.overridden(tier=cast(Tier, override.tier))  # a Tier: OverrideRequest validated it
    if override.action == "pin_score":
        assert override.score is not None  # OverrideRequest requires a score to pin
        points = float(override.score)
    else:
        assert override.adjustment is not None  # and an adjustment to adjust by
        points = min(100.0, max(0.0, result.score + float(override.adjustment)))
    points = round(points, 1)
    return result.overridden(score=points, tier=tier_for(points, tiers))


def expire(state: CustomerState, now: int) -> AuditEntry | None:
    """End, in place, an override whose time is up (`now` in microseconds), with the audit record saying so."""
    active = state.override
    if active is None or active.expires_at is None or now < to_us(active.expires_at):
        return None
    state.override = None
    return audit(
        state.customer_id,
        "expired",
        active,
        EXPIRY_AUTHOR,
        f"expired at {active.expires_at.isoformat()}",
        active.expires_at,
    )


def receive(state: CustomerState, request: OverrideRequest) -> list[AuditEntry] | None:
    """Apply the request to `state` in place and return its audit records; None for a request already applied."""
    marker = f"override:{request.request_id}"
    if recall(state.seen, marker) is not None:
        return None
    override = as_override(request)
    active, records = state.override, []
    if active is not None:
        action: AuditAction = "cleared" if request.action == "clear" else "replaced"
        records.append(audit(state.customer_id, action, active, request.author, request.reason, request.requested_at))
    if request.action != "clear":
        records.append(
            audit(state.customer_id, "applied", override, request.author, request.reason, request.requested_at)
        )
    state.override = None if request.action == "clear" else override
    state.seen = remember(state.seen, time_of(to_us(request.requested_at)), marker)
    return records
