"""Manual overrides: a person's correction on top of the model, until it is cleared or expires.

The override is applied to the model's assessment on every re-score, so a
recompute never loses it; the alert policy, the history and the segment see
the overridden score, because the override is the team's judgement of the
customer. The model's own score stays visible as `computed_score`.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from schemas.control import AuditAction, AuditRecord, OverrideRequest
from schemas.model_config import TierThresholds
from scoring.model import Assessment, tier_for
from scoring.state import CustomerState, already_seen, remember

# A fixed namespace makes audit ids reproducible across restarts and redeliveries.
AUDIT_NAMESPACE = uuid.UUID("0c9e1f5e-6f51-4d0f-b0a4-2f7d5d1a9e63")
EXPIRY_AUTHOR = "healthscore"


def audit(state: CustomerState, action: AuditAction, override: OverrideRequest, by: str, reason: str,
          at: datetime) -> AuditRecord:  # fmt: skip
    key = f"{state.customer_id}|{override.request_id}|{action}"
    return AuditRecord(audit_id=str(uuid.uuid5(AUDIT_NAMESPACE, key)), customer_id=state.customer_id, action=action,
                       override=override, by=by, reason=reason, at=at)  # fmt: skip


def describe(override: OverrideRequest) -> str:
    if override.action == "pin_score":
        what = f"score pinned at {override.score:.1f}"
    elif override.action == "pin_tier":
        what = f"tier pinned at {override.tier}"
    elif override.action == "adjust":
        what = f"score adjusted by {override.adjustment:+.1f}"
    else:
        what = "override cleared"
    return f"{what} by {override.author}: {override.reason}"


def effective(result: Assessment, override: OverrideRequest | None, tiers: TierThresholds) -> Assessment:
    """The assessment as the override has it; unchanged without one."""
    if override is None or override.action == "clear":
        return result
    if override.action == "pin_tier":
        return dataclasses.replace(result, tier=override.tier)
    if override.action == "pin_score":
        points = float(override.score)
    else:
        points = min(100.0, max(0.0, result.score + float(override.adjustment)))
    points = round(points, 1)
    return dataclasses.replace(result, score=points, tier=tier_for(points, tiers))


def expire(state: CustomerState, now: datetime) -> tuple[CustomerState, AuditRecord | None]:
    """Drop an override whose time is up, with the audit record saying so."""
    active = state.override
    if active is None or active.expires_at is None or now < active.expires_at:
        return state, None
    record = audit(state, "expired", active, EXPIRY_AUTHOR, f"expired at {active.expires_at.isoformat()}",
                   active.expires_at)  # fmt: skip
    return state.model_copy(update={"override": None}), record


def receive(state: CustomerState, request: OverrideRequest) -> tuple[CustomerState, list[AuditRecord]] | None:
    """The state with the request applied and its audit records; None for a request already applied."""
    marker = f"override:{request.request_id}"
    if already_seen(state, marker):
        return None
    active, records = state.override, []
    if active is not None:
        action: AuditAction = "cleared" if request.action == "clear" else "replaced"
        records.append(audit(state, action, active, request.author, request.reason, request.requested_at))
    if request.action != "clear":
        records.append(audit(state, "applied", request, request.author, request.reason, request.requested_at))
    override = None if request.action == "clear" else request
    return state.model_copy(update={"override": override, "seen": remember(state, request.requested_at, marker)}), records
