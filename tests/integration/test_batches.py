"""The worker scores in batches (one ack wait and one state write per customer per batch); the outputs
must be exactly those of scoring one event at a time."""

from __future__ import annotations

import random

from schemas.events import Event
from schemas.model_config import ScoringModel
from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from scoring.replay import replay
from tests.factories import published, purchase, survey, ticket, visit
from tests.integration.worker_metrics import metric_total

CUSTOMERS = 150


def mixed_events(seed: int = 8) -> list[Event]:
    """A seeded mix of all four kinds over 120 days: many customers have several events in one batch."""
    rng = random.Random(seed)
    events: list[Event] = []
    for n in range(CUSTOMERS):
        cid = f"b{n}"
        for _ in range(rng.randint(3, 25)):
            day = rng.uniform(0, 120)
            roll = rng.random()
            if roll < 0.5:
                events.append(visit(cid, day, rng.uniform(10, 900)))
            elif roll < 0.75:
                events.append(purchase(cid, day, round(rng.uniform(5, 300), 2)))
            elif roll < 0.9:
                events.append(
                    ticket(
                        cid,
                        day,
                        f"T-{rng.randint(1, 4)}",
                        rng.choice(["opened", "resolved"]),
                        rng.choice(["normal", "high"]),
                        rng.choice(["question", "complaint"]),
                    )
                )
            else:
                kind = rng.choice(["nps", "csat"])
                events.append(survey(cid, day, kind, rng.randint(0, 10) if kind == "nps" else rng.randint(1, 5)))
    return sorted(events, key=lambda e: e.occurred_at)


def test_batched_outputs_equal_scoring_one_event_at_a_time(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    events = mixed_events()
    run.publish([(topics[e.kind], e.customer_id.encode(), e.model_dump_json().encode()) for e in events])

    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(events))]
    by_id = {e.event_id: e for e in events}
    assert sorted(u.event_id for u in updates) == sorted(by_id)
    # The four topics interleave per customer in an order only the worker knows; its updates tell it.
    expected = replay([by_id[u.event_id] for u in updates], ScoringModel())
    assert updates == published(expected.updates)
    alerts = [
        ChurnRiskAlert.model_validate_json(r.value) for r in run.read(run.settings.topic_alerts, len(expected.alerts))
    ]
    assert expected.alerts and sorted(alerts, key=lambda a: a.alert_id) == sorted(
        published(expected.alerts), key=lambda a: a.alert_id
    )

    # And the worker did take them in batches, not one by one.
    port = run.settings.web_port
    batches = metric_total(port, "healthscore_batch_records_count")
    records = metric_total(port, "healthscore_batch_records_sum")
    assert records == len(events) and batches < len(events) / 5, (batches, records)
