"""One step of the service as a pure function: event in, new state and outputs out.

The stream, the timer, the backtest and the tests all go through `step` and
`rescore`, so what the worker publishes is exactly what offline replay computes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from schemas.control import AuditRecord, OverrideRequest
from schemas.events import Event
from schemas.model_config import Model, ScoringModel
from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from scoring.alerts import alert_id, decide_alerts, renewal_window_opens
from scoring.clv import clv_12m, segment_for
from scoring.model_choice import model_for
from scoring.overrides import describe, effective, expire, receive
from scoring.model import explain_change, purchase_cycle_days, score, settles_at
from scoring.state import MAX_HISTORY_DAYS, CustomerState, HistoryPoint, content_digest, fold, recalled
from scoring.windows import day_of


@dataclass(frozen=True)
class Step:
    state: CustomerState
    update: ScoreUpdate | None
    alerts: tuple[ChurnRiskAlert, ...] = field(default=())
    duplicate: bool = False
    audits: tuple[AuditRecord, ...] = field(default=())  # overrides that began or ended in this step
    conflict: bool = False  # a duplicate id whose content differs from the event applied under it


def event_clock(state: CustomerState | None, occurred_at: datetime) -> datetime:
    """The customer's `now` when scoring by event time: the event's time, never before what the customer has seen.

    A late event (older than the customer's newest event, or than the timer's
    last score of them) folds into the aggregates without moving the
    customer's clock back, so it cannot re-publish a score as of an earlier moment.
    """
    if state is None:
        return occurred_at
    return max(t for t in (occurred_at, state.last_event_at, state.last_scored_at) if t is not None)


def step(state: CustomerState, event: Event, model: Model, now: datetime) -> Step:
    """Apply `event`, re-score at `now` with the customer's model and decide on alerts; a duplicate changes nothing.

    An id already applied with other content is a `conflict`: nothing changes either, but it is not a redelivery.
    """
    content = content_digest(event)
    known = recalled(state, event.event_id)
    if known is not None:
        return Step(state, None, duplicate=True, conflict=known not in ("", content))
    applied = fold(state, event, content)
    if not scorable(applied):
        return Step(applied, None)  # a profile alone: kept, but there is nothing to score yet
    return rescore(applied, model_for(model, applied.profile), now, cause="event", event_id=event.event_id)


def step_override(state: CustomerState, request: OverrideRequest, model: Model, now: datetime) -> Step:
    """Apply a person's override request and re-score at once; a request already applied changes nothing."""
    received = receive(state, request)
    if received is None:
        return Step(state, None, duplicate=True)
    changed, records = received
    if not scorable(changed):
        return Step(changed, None, audits=tuple(records))
    result = rescore(changed, model_for(model, changed.profile), now, cause="override", event_id=request.request_id)
    assert result.update is not None
    update = result.update.model_copy(update={"changes": [describe(request), *result.update.changes]})
    return dataclasses.replace(result, update=update, audits=(*records, *result.audits))


def scorable(state: CustomerState) -> bool:
    """Whether the customer has behaviour to score; a profile alone describes them but says nothing of health."""
    return state.event_count > 0


def change_since(history: tuple[HistoryPoint, ...], current: float, now: datetime, days: int) -> float | None:
    """Score now minus the last score recorded at least `days` days ago, if one is remembered."""
    cutoff = day_of(now) - days
    # The last such point in the order remembered: found from the end, without a list of every older one.
    last = next((p for p in reversed(history) if p.day <= cutoff), None)
    return round(current - last.score, 1) if last is not None else None


def _remember(history: tuple[HistoryPoint, ...], now: datetime, points: float) -> tuple[HistoryPoint, ...]:
    """One point per day (the day's latest score), for the last MAX_HISTORY_DAYS days."""
    today = day_of(now)
    kept = [p for p in history if today - MAX_HISTORY_DAYS < p.day < today]
    return (*kept, HistoryPoint(day=today, score=points))


def rescore(
    state: CustomerState,
    model: ScoringModel,
    now: datetime,
    cause: Literal["event", "timer", "override"] = "timer",
    event_id: str | None = None,
) -> Step:
    """Score `state` at `now` (an override on top, ended if its time is up), remember it and build the outputs."""
    state, ended = expire(state, now)
    computed = score(state, model, now)
    result = effective(computed, state.override, model.tiers)
    memory, fired = decide_alerts(state, result, model, now)
    clv = clv_12m(state, model, now)
    segment = segment_for(state, result.tier, clv, model, now)
    change_7d = change_since(state.history, result.score, now, 7)
    changes = list(explain_change(state.last_signals, result))
    if ended is not None:
        changes.insert(0, f"manual override ended, expired: {describe(ended.override)}")
    update = ScoreUpdate(
        customer_id=state.customer_id,
        score=result.score,
        tier=result.tier,
        previous_score=state.last_score,
        previous_tier=state.last_tier,
        confidence=result.confidence,
        dimensions=list(result.dimensions),
        reasons=list(result.reasons),
        changes=changes,
        change_7d=change_7d,
        change_30d=change_since(state.history, result.score, now, 30),
        segment=segment,
        clv_12m=clv,
        purchase_cycle_days=purchase_cycle_days(state, model),
        model_name=model.name,
        model_version=model.version,
        scored_at=now,
        cause=cause,
        event_id=event_id,
        profile=state.profile,
        override=state.override,
        computed_score=computed.score if state.override is not None else None,
    )
    cause_key = event_id or now.isoformat()
    alerts = tuple(
        ChurnRiskAlert(
            alert_id=alert_id(state.customer_id, f.trigger, cause_key),
            customer_id=state.customer_id,
            trigger=f.trigger,
            severity=f.severity,
            detail=f.detail,
            tier=result.tier,
            previous_tier=state.last_tier,
            score=result.score,
            change_7d=change_7d,
            segment=segment,
            reasons=list(result.reasons),
            changes=changes,
            raised_at=now,
            model_name=model.name,
            model_version=model.version,
            event_id=event_id,
        )
        for f in fired
    )
    remembered = state.model_copy(
        update={
            "last_score": result.score,
            "last_tier": result.tier,
            "last_scored_at": now,
            "last_signals": {s.name: round(s.value, 4) for s in result.signals},
            "history": _remember(state.history, now, result.score),
            "alert": memory,
        }
    )
    return Step(remembered, update, alerts, audits=(ended,) if ended is not None else ())


def next_review(state: CustomerState, model: Model, now: datetime) -> datetime | None:
    """When the timer should look at this customer again, or None once time can no longer move the score."""
    model = model_for(model, state.profile)
    # Moments time alone brings that need a look: the renewal window opening, an override ending.
    opens = renewal_window_opens(state, model)
    ends = state.override.expires_at if state.override is not None else None
    upcoming = min((t for t in (opens, ends) if t is not None and t > now), default=None)
    settled = settles_at(state, model)
    if settled is None or now >= settled + model.review.interval:
        return upcoming if scorable(state) else None
    return min(now + model.review.interval, upcoming or now + model.review.interval)


def rescore_if_changed(state: CustomerState, model: Model, now: datetime) -> Step:
    """A timer's re-score: outputs only when the score, tier or an alert changed with time."""
    if not scorable(state):
        return Step(state, None)
    result = rescore(state, model_for(model, state.profile), now)
    update = result.update
    moved = update is not None and (update.score != state.last_score or update.tier != state.last_tier)
    if moved or result.alerts or result.audits:
        return result
    # Keep the remembered history and alert memory current even when nothing is published.
    return Step(result.state, None, ())


