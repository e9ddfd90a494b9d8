"""A real Prometheus server scrapes a worker: PromQL sees the events counted and the consumer lag."""

from __future__ import annotations

from pathlib import Path

from tests.factories import purchase, visit
from tests.integration.prometheus import prometheus_server

CUSTOMERS = 200
VISITS_EACH = 60  # enough records that the worker is visibly behind for a few lag samples


def test_prometheus_counts_the_events_scored_and_sees_lag_rise_and_drain(deploy, tmp_path: Path) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    events = [purchase(f"c{n}", 0) for n in range(CUSTOMERS)]
    events += [visit(f"c{n}", 1 + d / 10) for d in range(VISITS_EACH) for n in range(CUSTOMERS)]

    with prometheus_server(tmp_path / "prometheus", [f"127.0.0.1:{run.settings.web_port}"]) as prometheus:
        assert prometheus.scalar_when('up{job="healthscore"}', 1.0) == 1.0
        # Once the worker has its partitions, every input topic has a lag series.
        assert prometheus.scalar_when("count(healthscore_consumer_lag_records)", float(len(topics))) == len(topics)
        lag_series = prometheus.query("healthscore_consumer_lag_records")
        assert {s["metric"]["topic"] for s in lag_series} == set(topics.values())

        run.publish([(topics[e.kind], e.customer_id.encode(), e.model_dump_json().encode()) for e in events])

        scored = 'sum(healthscore_events_total{outcome="scored"})'
        assert prometheus.scalar_when(scored, float(len(events)), timeout=120) == len(events)
        by_kind = {
            s["metric"]["kind"]: float(s["value"][1])
            for s in prometheus.query('sum by (kind) (healthscore_events_total{outcome="scored"})')
        }
        assert by_kind == {
            "purchase": CUSTOMERS,
            "visit": CUSTOMERS * VISITS_EACH,
            "ticket": 0,
            "survey": 0,
            "profile": 0,
        }
        # The visits topic was behind while the burst was worked off, and the backlog drained.
        peak = prometheus.scalar(f'max_over_time(healthscore_consumer_lag_records{{topic="{topics["visit"]}"}}[5m])')
        assert peak is not None and peak > 0
        assert prometheus.scalar_when("sum(healthscore_consumer_lag_records)", 0.0) == 0.0
