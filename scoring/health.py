"""A customer's health as the HTTP API shows it: the state scored at the moment of the request.

The same `rescore` the timer runs, so an answer between events already
counts the time since the last one; nothing is stored or published.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from schemas.api import CustomerHealth
from schemas.model_config import Model
from scoring.instants import day_date, from_us
from scoring.model_choice import model_for
from scoring.pipeline import rescore
from scoring.state import CustomerState, copy_state


def query_time(clock: datetime | None, state: CustomerState) -> datetime | None:
    """When to score a customer asked about: the worker's clock, never before the customer's last score.

    In event-time mode a restarted worker has no clock until its next event;
    the customer's own last score time stands in. None for a state never scored.
    """
    known = [
        t
        for t in (clock, *(from_us(t) for t in (state.last_scored_at, state.last_event_at) if t is not None))
        if t is not None
    ]
    return max(known) if known else None


def current_health(state: CustomerState, model: Model, now: datetime) -> CustomerHealth:
    """`state` scored at `now` with the customer's model (and override), with its daily history including today's point.

    The state given is left as it was.
    """
    scored = copy_state(state)
    result = rescore(scored, model_for(model, scored.profile), now)
    assert result.update is not None  # rescore always scores
    history = [
        {"date": day_date(day).isoformat(), "score": score}
        for day, score in zip(scored.history_day, scored.history_score)
    ]
    last_event = from_us(state.last_event_at).isoformat() if state.last_event_at is not None else None
    return CustomerHealth.of(msgspec.to_builtins(result.update), history, last_event, state.event_count)
