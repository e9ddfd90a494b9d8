"""Prometheus metrics of the worker, on a registry of their own so apps can coexist in tests."""

from __future__ import annotations

from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from schemas.control import AuditAction
from schemas.events import EventKind
from schemas.outputs import DeadLetterError
from scoring.records import AlertRecord, ScoreRecord

SCORE_BUCKETS = tuple(float(b) for b in range(10, 101, 10))
# Outcomes of an input record, the `outcome` label of healthscore_events_total.
OUTCOMES = ("scored", "stored", "duplicate", "dead_letter", "erased")
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Every series the worker exports; label values come from fixed vocabularies only."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "healthscore_events", "Input records by event kind and outcome.", ["kind", "outcome"], registry=r
        )
        # Series exist at 0 from the start, so rate() and the no-events alert work before the first event.
        for kind in get_args(EventKind):
            for outcome in OUTCOMES:
                self.events.labels(kind, outcome)
        self.dead_letters = Counter(
            "healthscore_dead_letters", "Records sent to the dead-letter topic, by reason.", ["error"], registry=r
        )
        for error in get_args(DeadLetterError):  # at 0 too: increase() misses a series that appears at 1
            self.dead_letters.labels(error)
        self.alerts = Counter(
            "healthscore_alerts", "Churn-risk alerts published, by trigger and tier.", ["trigger", "tier"], registry=r
        )
        self.score_updates = Counter(
            "healthscore_score_updates", "Score updates published, by tier.", ["tier"], registry=r
        )
        self.scores = Histogram(
            "healthscore_score", "Distribution of published health scores (0-100).", buckets=SCORE_BUCKETS, registry=r
        )
        self.latency = Histogram(
            "healthscore_event_to_score_latency_seconds",
            "From the input record's broker timestamp to its score update acknowledged by the broker.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.timer_rescored = Counter(
            "healthscore_timer_rescored_customers", "Customers the inactivity timer re-scored.", registry=r
        )
        self.redis_errors = Counter(
            "healthscore_redis_write_errors", "Failed Redis snapshot writes (retried).", registry=r
        )
        self.overrides = Counter(
            "healthscore_overrides", "Manual override changes, by audit action.", ["action"], registry=r
        )
        for action in get_args(AuditAction):
            self.overrides.labels(action)
        self.erasures = Counter(
            "healthscore_erasures", "Customers erased on request (state, Redis snapshot, timer).", registry=r
        )
        self.offset_holes = Counter(
            "healthscore_offset_holes",
            "Runs of input records the consumer skipped and the worker fetched again (streams/worker/offsets.py).",
            registry=r,
        )
        self.fenced_batches = Counter(
            "healthscore_fenced_batches",
            "Batches dropped uncommitted because this worker may have lost its partitions (streams/fencing.py).",
            registry=r,
        )
        self.batch_failures = Counter(
            "healthscore_batch_failures",
            "Batches that failed as a whole (outputs not acknowledged, a store write failed) and were fetched again.",
            registry=r,
        )
        self.batch_size = Histogram(
            "healthscore_batch_records",
            "Input records handled per batch: one state write per customer and one wait for acks per batch.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.redis_writes = Counter("healthscore_redis_writes", "Customer snapshots written to Redis.", registry=r)
        self.partitions_owned = Gauge(
            "healthscore_partitions_owned",
            "Partitions of the customer table this worker owns and may write for; 0 while it may have lost them "
            "(broker unreachable, group rebalancing: streams/fencing.py).",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "healthscore_consumer_lag_records",
            "Input records not yet scored by this worker (end offset minus the first record not scored), by input topic.",
            ["topic"],
            registry=r,
        )

    def scored(self, update: ScoreRecord, alerts: tuple[AlertRecord, ...]) -> None:
        self.score_updates.labels(update.tier).inc()
        self.scores.observe(update.score)
        for alert in alerts:
            self.alerts.labels(alert.trigger, alert.tier).inc()

    def observe_latency(self, seconds: float) -> None:
        """Record's broker timestamp to its outputs acknowledged; a skewed clock's negative gap is dropped."""
        if seconds >= 0:
            self.latency.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
