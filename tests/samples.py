"""Sample inputs several test modules share: model files, a customer headed for trouble, busy metrics, small stores."""

from __future__ import annotations

from datetime import timedelta

from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, Event
from schemas.model_config import ScoringModel
from scoring.replay import replay
from streams.metrics import Metrics
from tests.factories import T0, purchase, survey, ticket, visit
from tests.paths import MODELS, ROOT

SEGMENTED = MODELS / "segmented.toml"  # per-segment models chosen by profile
SMALL_DB = {"write_buffer_size": 1 << 20, "max_write_buffer_number": 2, "block_cache_size": 1 << 20}
RENEWAL = (T0 + timedelta(days=130)).date()  # 30 days after the trouble below


def sample_events() -> list[Event]:
    """data/sample_events.jsonl without its deliberately invalid lines (the worker dead-letters those)."""
    events = []
    for line in (ROOT / "data" / "sample_events.jsonl").read_bytes().splitlines():
        try:
            events.append(EVENT_ADAPTER.validate_json(line))
        except ValidationError:
            continue
    return events


def troubled(customer: str) -> list:
    """Two purchases, then a high-priority complaint and a detractor answer: critical by day 100."""
    return [
        purchase(customer, 0),
        purchase(customer, 10),
        ticket(customer, 95, category="complaint", priority="high"),
        survey(customer, 100, "nps", 1),
    ]


def busy_metrics(customers: int) -> Metrics:
    """Metrics after scoring `customers` customers, each with a purchase, visit, ticket and detractor survey."""
    metrics = Metrics()
    events = []
    for n in range(customers):
        cid = f"customer-{n}"
        events += [purchase(cid, 0), visit(cid, 1), ticket(cid, 2, category="complaint"), survey(cid, 3, "nps", 0)]
    result = replay(events, ScoringModel())
    alerts_by_event = {}
    for alert in result.alerts:
        alerts_by_event.setdefault(alert.event_id, []).append(alert)
    for event, update in zip(events, result.updates, strict=True):
        metrics.events.labels(event.kind, "scored").inc()
        metrics.scored(update, tuple(alerts_by_event.get(update.event_id, ())))
        metrics.observe_latency(0.01)
    metrics.dead_letters.labels("invalid_json").inc()
    metrics.offset_holes.inc()
    metrics.consumer_lag.labels("customer.visits").set(3)
    return metrics
