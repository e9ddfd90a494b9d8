"""The churn-risk alert policy: tier entry with hysteresis and a per-customer cooldown."""

from __future__ import annotations

import uuid
from datetime import datetime

from schemas.model_config import AlertPolicy, TierThresholds
from schemas.outputs import Tier
from scoring.state import AlertMemory

SEVERITY: dict[Tier | None, int] = {None: 0, "healthy": 0, "watch": 0, "at_risk": 1, "critical": 2}
# A fixed namespace makes alert ids reproducible across restarts and replays.
ALERT_NAMESPACE = uuid.UUID("5b0f3c64-3a53-4b8e-9d0c-6f0e6f1f2a77")


def risk_level(score: float, current: Tier | None, tiers: TierThresholds, hysteresis: float) -> Tier | None:
    """The alerting level for `score`: entering a tier is immediate, leaving it takes `hysteresis` points more."""
    if score < tiers.at_risk or (current == "critical" and score < tiers.at_risk + hysteresis):
        return "critical"
    if score < tiers.watch or (current in ("at_risk", "critical") and score < tiers.watch + hysteresis):
        return "at_risk"
    return None


def decide_alert(
    memory: AlertMemory, score: float, tiers: TierThresholds, policy: AlertPolicy, now: datetime
) -> tuple[AlertMemory, Tier | None]:
    """The new memory, and the tier to alert on when this score is news.

    An alert fires when the level rises. Within `cooldown` of the previous
    alert it fires only if the new level is more severe than the one
    alerted then, so a customer hovering at a threshold alerts once.
    """
    level = risk_level(score, memory.level, tiers, policy.hysteresis)
    rising = SEVERITY[level] > SEVERITY[memory.level]
    cooling = memory.last_alert_at is not None and now - memory.last_alert_at < policy.cooldown
    if rising and not (cooling and SEVERITY[level] <= SEVERITY[memory.last_alert_tier]):
        return AlertMemory(level=level, last_alert_at=now, last_alert_tier=level), level
    return memory.model_copy(update={"level": level}), None


def alert_id(customer_id: str, tier: Tier, cause: str) -> str:
    """Stable id of the alert raised for `customer_id` entering `tier` because of `cause`."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{customer_id}|{tier}|{cause}"))
