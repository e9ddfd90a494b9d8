"""A customer's health as the HTTP API shows it: the state scored at the moment of the request.

The same `rescore` the timer runs, so an answer between events already
counts the time since the last one; nothing is stored or published.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.api import CustomerHealth, HistoryDay
from schemas.model_config import Model
from scoring.model_choice import model_for
from scoring.pipeline import rescore
from scoring.state import CustomerState
from scoring.windows import EPOCH


def query_time(clock: datetime | None, state: CustomerState) -> datetime | None:
    """When to score a customer asked about: the worker's clock, never before the customer's last score.

    In event-time mode a restarted worker has no clock until its next event;
    the customer's own last score time stands in. None for a state never scored.
    """
    known = [t for t in (clock, state.last_scored_at, state.last_event_at) if t is not None]
    return max(known) if known else None


def current_health(state: CustomerState, model: Model, now: datetime) -> CustomerHealth:
    """`state` scored at `now` with the customer's model (and override), with its daily history including today's point."""
    result = rescore(state, model_for(model, state.profile), now)
    assert result.update is not None  # rescore always scores
    history = [HistoryDay(date=(EPOCH + timedelta(days=p.day)).date(), score=p.score) for p in result.state.history]
    return CustomerHealth.of(result.update, history, state.last_event_at, state.event_count)

