"""One step of the service as a pure function of its inputs: event in, state and outputs out.

The stream, the timer, the backtest and the tests all go through `step` and
`rescore`, so what the worker publishes is exactly what offline replay computes.

A step changes the state it is given, in place, and returns it in the Step:
the worker decodes a customer's state once per batch, folds every event of
the batch into it, and encodes it once (copying a state per event was a
fifth of the scoring time). Callers that keep the state they had copy it
first (scoring.state.copy_state). Nothing else is touched: no clock, no I/O.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime
from typing import Literal

from schemas.control import OverrideRequest
from schemas.events import Event
from schemas.model_config import Model, ScoringModel
from scoring.alerts import Fired, alert_id, decide_alerts, overdue_at, renewal_window_opens
from scoring.clv import clv_12m, segment_for
from scoring.instants import US_PER_DAY, from_us, to_us
from scoring.model import Assessment, assess, compiled, explain_change, settles_at
from scoring.model_choice import model_for
from scoring.overrides import describe, effective, expire, receive
from scoring.records import AlertRecord, AuditEntry, ScoreRecord
from scoring.seen import UNKNOWN_CONTENT, recall
from scoring.state import MAX_HISTORY_DAYS, CustomerState, digest_of, fold


class Step:
    """What one step did: the state (changed in place), the update and alerts to publish, and what was ignored."""

    __slots__ = ("state", "update", "alerts", "duplicate", "audits", "conflict")

    def __init__(
        self,
        state: CustomerState,
        update: ScoreRecord | None,
        alerts: tuple[AlertRecord, ...] = (),
        duplicate: bool = False,
        audits: tuple[AuditEntry, ...] = (),
        conflict: bool = False,
    ) -> None:
        self.state, self.update, self.alerts, self.duplicate = state, update, alerts, duplicate
        self.audits = audits  # overrides that began or ended in this step
        self.conflict = conflict  # a duplicate id whose content differs from the event applied under it


def customer_clock(state: CustomerState | None) -> datetime | None:
    """The customer's own time on the event-time clock: their newest behaviour event or score; None before either."""
    if state is None:
        return None
    latest = max((t for t in (state.last_event_at, state.last_scored_at) if t is not None), default=None)
    return None if latest is None else from_us(latest)


def event_clock(state: CustomerState | None, occurred_at: datetime) -> datetime:
    """The customer's `now` when scoring a behaviour event by event time: its time, never before the customer's clock.

    A late event (older than the customer's newest event, or than the timer's
    last score of them) folds into the aggregates without moving the
    customer's clock back, so it cannot re-publish a score as of an earlier moment.
    """
    clock = customer_clock(state)
    return occurred_at if clock is None or occurred_at >= clock else clock


def clock_for(state: CustomerState | None, event: Event) -> datetime:
    """The `now` an event is scored at on the event-time clock: the one rule every record follows.

    Only behaviour (a purchase, visit, ticket or survey) moves a customer's
    clock, to its own time and never back. A profile describes the customer
    and is scored at their clock as it stands, whatever date it carries; so
    is a person's override (streams/worker/scorer.py), and the timer scores
    at the event-time watermark of the worker, which customers' events
    made. A score then moves because behaviour changed or behaviour's time
    passed, never because a record was stamped with another clock.
    """
    if event.kind == "profile":
        return customer_clock(state) or event.occurred_at  # a customer known by nothing else has no clock yet
    return event_clock(state, event.occurred_at)


def step(state: CustomerState, event: Event, model: Model, now: datetime) -> Step:
    """Apply `event`, re-score at `now` with the customer's model and decide on alerts; a duplicate changes nothing.

    An id already applied with other content is a `conflict`: nothing changes either, but it is not a redelivery.
    """
    content = digest_of(event)
    known = recall(state.seen, event.event_id)
    if known is not None:
        return Step(state, None, duplicate=True, conflict=known not in (UNKNOWN_CONTENT, content))
    # Only a profile can change which model scores the customer; a customer never scored had no model yet.
    before = model_for(model, state.profile) if event.kind == "profile" and scorable(state) else None
    fold(state, event, content)
    if not scorable(state):
        return Step(state, None)  # a profile alone: kept, but there is nothing to score yet
    chosen = model_for(model, state.profile)
    return rescore(
        state,
        chosen,
        now,
        cause="event",
        event_id=event.event_id,
        model_before=before if before is not None and before.name != chosen.name else None,
    )


def step_override(state: CustomerState, request: OverrideRequest, model: Model, now: datetime) -> Step:
    """Apply a person's override request and re-score at once; a request already applied changes nothing."""
    records = receive(state, request)
    if records is None:
        return Step(state, None, duplicate=True)
    if not scorable(state):
        return Step(state, None, audits=tuple(records))
    result = rescore(state, model_for(model, state.profile), now, cause="override", event_id=request.request_id)
    assert result.update is not None
    result.update.changes = [describe(request), *result.update.changes]  # the alerts keep the changes as scored
    return Step(result.state, result.update, result.alerts, audits=(*records, *result.audits))


def scorable(state: CustomerState) -> bool:
    """Whether the customer has behaviour to score; a profile alone describes them but says nothing of health."""
    return state.event_count > 0


def change_since(state: CustomerState, current: float, today: int, days: int) -> float | None:
    """Score now minus the last score recorded at least `days` days before `today`, if one is remembered."""
    cutoff = today - days
    for day, score in zip(reversed(state.history_day), reversed(state.history_score)):
        if day <= cutoff:
            return round(current - score, 1)
    return None


def _remember(state: CustomerState, today: int, points: float) -> None:
    """One point per day (the day's latest score), for the last MAX_HISTORY_DAYS days.

    The history is in day order, so what leaves it is a slice at either end
    (a daily timer drops one point a day: cut in C, not rebuilt in Python).
    """
    days, scores = state.history_day, state.history_score
    if days and days[-1] >= today:
        end = bisect_left(days, today)
        del days[end:], scores[end:]
    if days and days[0] <= today - MAX_HISTORY_DAYS:
        start = bisect_right(days, today - MAX_HISTORY_DAYS)
        del days[:start], scores[:start]
    days.append(today)
    scores.append(points)


# What a re-score publishes: "always" the update (an event, an override); "moved" only a changed score or
# tier, an alert or an ended override (the timer); "alerts" only alerts and ended overrides (the backtest's
# alert replay, which reads nothing else). The state changes the same way whatever is published.
Publish = Literal["always", "moved", "alerts"]


def rescore(
    state: CustomerState,
    model: ScoringModel,
    now: datetime,
    cause: Literal["event", "timer", "override"] = "timer",
    event_id: str | None = None,
    model_before: ScoringModel | None = None,
    publish: Publish = "always",
) -> Step:
    """Score `state` at `now` (an override on top, ended if its time is up), remember it and build the outputs.

    `model_before`: the model that scored the customer until now, when a new
    profile moved them to `model`; named first among the changes, since it
    can move the score more than any signal. `publish`: which outputs to
    build; the update, CLV, segment and explanations are built only when
    published, since building them costs more than the score itself.
    """
    at = to_us(now)
    today = at // US_PER_DAY
    ended = expire(state, at)
    computed = assess(state, model, at)
    result = effective(computed, state.override, model.tiers)
    memory, fired = decide_alerts(state, result, model, at)
    update: ScoreRecord | None = None
    alerts: tuple[AlertRecord, ...] = ()
    moved = publish == "moved" and (result.score, result.tier) != (state.last_score, state.last_tier)
    if publish == "always" or moved or fired or ended is not None:
        update, alerts = _outputs(state, computed, result, fired, model, now, cause, event_id, model_before, ended)
        if publish == "alerts":
            update = None
    state.last_score, state.last_tier, state.last_scored_at = result.score, result.tier, at
    state.last_signals = {spec.name: round(value, 4) for spec, value in zip(result.specs, result.values)}
    _remember(state, today, result.score)
    state.alert = memory
    return Step(state, update, alerts, audits=(ended,) if ended is not None else ())


def _outputs(
    state: CustomerState,
    computed: Assessment,
    result: Assessment,
    fired: list[Fired],
    model: ScoringModel,
    now: datetime,
    cause: Literal["event", "timer", "override"],
    event_id: str | None,
    model_before: ScoringModel | None,
    ended: AuditEntry | None,
) -> tuple[ScoreRecord, tuple[AlertRecord, ...]]:
    """The update and alerts of one score, from the state as it was before the score is remembered."""
    at = to_us(now)
    today = at // US_PER_DAY
    clv = clv_12m(state, model, at)
    segment = segment_for(state, result.tier, clv, model, at)
    change_7d = change_since(state, result.score, today, 7)
    changes = explain_change(state.last_signals, result)
    if ended is not None:
        changes.insert(0, f"manual override ended, expired: {describe(ended.override)}")
    if model_before is not None:
        changes.insert(0, model_change(model_before, model))
    reasons = result.reasons
    update = ScoreRecord(
        customer_id=state.customer_id,
        score=result.score,
        tier=result.tier,
        previous_score=state.last_score,
        previous_tier=state.last_tier,
        confidence=result.confidence,
        dimensions=result.dimensions,
        reasons=reasons,
        changes=changes,
        change_7d=change_7d,
        change_30d=change_since(state, result.score, today, 30),
        segment=segment,
        clv_12m=clv,
        purchase_cycle_days=state.purchase_cycle_days,
        model_name=model.name,
        model_version=model.version,
        scored_at=now,
        cause=cause,
        event_id=event_id,
        profile=state.profile,
        override=state.override,
        computed_score=computed.score if state.override is not None else None,
    )
    alerts: tuple[AlertRecord, ...] = ()
    if fired:
        cause_key = event_id or now.isoformat()
        alerts = tuple(
            AlertRecord(
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
                reasons=list(reasons),
                changes=changes,
                raised_at=now,
                model_name=model.name,
                model_version=model.version,
                event_id=event_id,
            )
            for f in fired
        )
    return update, alerts


def model_change(before: ScoringModel, after: ScoringModel) -> str:
    """A customer's move to another model of a model set, as the first of an update's changes."""
    return f"model changed from {before.name} to {after.name}"


def next_review(state: CustomerState, model: Model, now: datetime) -> datetime | None:
    """When the timer should look at this customer again, or None once time can no longer move the score."""
    model = model_for(model, state.profile)
    at = to_us(now)
    # Moments time alone brings that need a look: the renewal window opening, an override ending.
    upcoming = None
    if state.profile is not None and state.profile.renewal_date is not None:
        opens = renewal_window_opens(state, model)
        upcoming = opens if opens is not None and opens > at else None
    if state.override is not None and state.override.expires_at is not None:
        ends = to_us(state.override.expires_at)
        if ends > at and (upcoming is None or ends < upcoming):
            upcoming = ends
    settled = settles_at(state, model)
    interval = compiled(model).review_interval
    if settled is None or at >= settled + interval:
        # Settled, the score no longer moves, but a purchase_overdue alert waiting for `min_days` still falls due.
        overdue = overdue_at(state, model)
        if overdue is not None and overdue > at and (upcoming is None or overdue < upcoming):
            upcoming = overdue
        return from_us(upcoming) if upcoming is not None and scorable(state) else None
    return now + model.review.interval if upcoming is None or upcoming >= at + interval else from_us(upcoming)


def rescore_if_changed(state: CustomerState, model: Model, now: datetime, publish: Publish = "moved") -> Step:
    """A timer's re-score: outputs only when the score, tier or an alert changed with time.

    `publish="alerts"`: only alerts (the backtest's replay); the state moves on the same either way.
    """
    if not scorable(state):
        return Step(state, None)
    # Unpublished, the history and the alert memory are still kept current.
    return rescore(state, model_for(model, state.profile), now, publish=publish)
