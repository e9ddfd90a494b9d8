"""One step of the service as a pure function: event in, new state and outputs out.

The stream, the backtest and the tests all go through `step` and `rescore`,
so what the worker publishes is exactly what offline replay computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.events import Event
from schemas.model_config import ScoringModel
from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from scoring.alerts import alert_id, decide_alert
from scoring.model import score
from scoring.state import CustomerState, apply_event


@dataclass(frozen=True)
class Step:
    state: CustomerState
    update: ScoreUpdate | None
    alert: ChurnRiskAlert | None
    duplicate: bool = False


def step(state: CustomerState, event: Event, model: ScoringModel, now: datetime) -> Step:
    """Apply `event`, re-score at `now` and decide on an alert; a duplicate changes nothing."""
    applied, fresh = apply_event(state, event)
    if not fresh:
        return Step(state, None, None, duplicate=True)
    return rescore(applied, model, now, cause="event", event_id=event.event_id, previous=state)


def rescore(
    state: CustomerState,
    model: ScoringModel,
    now: datetime,
    cause: Literal["event", "timer"] = "timer",
    event_id: str | None = None,
    previous: CustomerState | None = None,
) -> Step:
    """Score `state` at `now`, remember the result in the state and build the outputs."""
    before = previous or state
    result = score(state, model, now)
    memory, alert_tier = decide_alert(state.alert, result.score, model.tiers, model.alerts, now)
    update = ScoreUpdate(
        customer_id=state.customer_id,
        score=result.score,
        tier=result.tier,
        previous_score=before.last_score,
        previous_tier=before.last_tier,
        confidence=result.confidence,
        dimensions=list(result.dimensions),
        reasons=list(result.reasons),
        model_name=model.name,
        model_version=model.version,
        scored_at=now,
        cause=cause,
        event_id=event_id,
    )
    alert = None
    if alert_tier is not None:
        alert = ChurnRiskAlert(
            alert_id=alert_id(state.customer_id, alert_tier, event_id or now.isoformat()),
            customer_id=state.customer_id,
            trigger="tier_entry",
            tier=alert_tier,
            previous_tier=before.last_tier,
            score=result.score,
            reasons=list(result.reasons),
            raised_at=now,
            model_name=model.name,
            model_version=model.version,
            event_id=event_id,
        )
    remembered = state.model_copy(
        update={"last_score": result.score, "last_tier": result.tier, "last_scored_at": now, "alert": memory}
    )
    return Step(remembered, update, alert)
