"""Offline replay: the same fold the worker runs, over a list of events, with the event-time clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from schemas.events import Event
from schemas.model_config import Model
from scoring.pipeline import clock_for, step
from scoring.records import AlertRecord, ScoreRecord
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
