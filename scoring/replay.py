"""Offline replay: the same fold the worker runs, over a list of events, with the event-time clock.

`replay` scores each event as the worker does; `replay_with_timer` also
re-scores every customer when they fall due, as the worker's inactivity
timer does, so a customer going silent loses score (and alerts) in the
replay when they would in production, not at their next event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from schemas.events import Event
from schemas.model_config import Model
from scoring.pipeline import Publish, clock_for, next_review, rescore_if_changed, step
from scoring.records import AlertRecord, ScoreRecord
from scoring.schedule import DueQueue
from scoring.state import CustomerState, new_state


@dataclass
class Replay:
    states: dict[str, CustomerState] = field(default_factory=dict)
    updates: list[ScoreRecord] = field(default_factory=list)
    alerts: list[AlertRecord] = field(default_factory=list)
    duplicates: int = 0
    conflicts: int = 0  # duplicates whose content differs: the worker dead-letters them


def replay(events: Iterable[Event], model: Model) -> Replay:
    """Apply events in the order given (per customer, as a partition delivers them), scoring at event time.

    This is what a worker with `clock=event` publishes for the same input.
    """
    out = Replay()
    for event in events:
        state = out.states.get(event.customer_id) or new_state(event.customer_id)
        result = step(state, event, model, clock_for(state, event))
        out.states[event.customer_id] = result.state
        if result.duplicate:
            out.duplicates += not result.conflict
            out.conflicts += result.conflict
            continue
        if result.update is not None:
            out.updates.append(result.update)
        out.alerts.extend(result.alerts)
    return out


def replay_with_timer(
    events: Iterable[Event], model: Model, until: datetime | None = None, publish: Publish = "moved"
) -> Replay:
    """`replay` with the worker's inactivity timer running from the first event to `until` (the last).

    Events must come in time order. Before each event, every customer due
    by its time is re-scored at the moment they fell due, which is what a
    worker does on the wall clock (within its tick) and on the event clock
    once its watermark passes that moment; only a moved score or an alert
    is published, as `rescore_if_changed` decides. `publish="alerts"` keeps
    only the alerts (no score updates), for the backtest, which reads
    nothing else.
    """
    out, due, last = Replay(), DueQueue(), None
    for event in events:
        _tick(out, due, model, event.occurred_at, publish)
        state = out.states.get(event.customer_id) or new_state(event.customer_id)
        now = clock_for(state, event)
        result = step(state, event, model, now)
        out.states[event.customer_id] = result.state
        last = now
        if result.duplicate:
            out.duplicates += not result.conflict
            out.conflicts += result.conflict
            continue
        if result.update is not None and publish != "alerts":
            out.updates.append(result.update)
        out.alerts.extend(result.alerts)
        due.schedule(event.customer_id, next_review(result.state, model, now))
    end = until or last
    if end is not None:
        _tick(out, due, model, end, publish)
    return out


def _tick(out: Replay, due: DueQueue, model: Model, until: datetime, publish: Publish) -> None:
    """Re-score, in time order, every customer due at or before `until`, each at the moment they fell due."""
    while (found := due.pop_next(until)) is not None:
        at, customer_id = found
        result = rescore_if_changed(out.states[customer_id], model, at, publish)
        if result.update is not None:
            out.updates.append(result.update)
        out.alerts.extend(result.alerts)
        due.schedule(customer_id, next_review(result.state, model, at))
