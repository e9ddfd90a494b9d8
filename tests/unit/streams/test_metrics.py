"""The worker's metrics follow Prometheus conventions and never grow with the number of customers."""

from __future__ import annotations

import subprocess

import pytest
from faust.types import TP
from prometheus_client.parser import text_string_to_metric_families

from streams.metrics import Metrics
from streams.worker.lag import lag_by_topic

# Every label the worker may use; each takes values from a fixed vocabulary (kinds, outcomes, reasons, tiers, topics).
from tests.programs import promtool
from tests.samples import busy_metrics

BOUNDED_LABELS = {"kind", "outcome", "error", "trigger", "tier", "topic", "action"}


def series(metrics: Metrics) -> list[tuple[str, dict[str, str]]]:
    text = metrics.exposition().decode()
    return [(s.name, s.labels) for family in text_string_to_metric_families(text) for s in family.samples]


def test_promtool_finds_no_naming_problem_in_the_exposition() -> None:
    text = busy_metrics(3).exposition()
    checked = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout.decode() + checked.stderr.decode()


def test_counters_end_in_total_and_durations_are_in_seconds() -> None:
    text = busy_metrics(1).exposition().decode()
    for family in text_string_to_metric_families(text):
        if family.type == "counter":
            assert any(s.name == f"{family.name}_total" for s in family.samples), family.name
        # prometheus_client's `<counter>_created` gauges carry a creation timestamp, not a latency.
        if ("latency" in family.name or "duration" in family.name) and not family.name.endswith("_created"):
            assert family.name.endswith("_seconds"), family.name


def test_labels_are_bounded_and_never_carry_a_customer_id() -> None:
    samples = series(busy_metrics(5))
    for name, labels in samples:
        assert set(labels) - {"le"} <= BOUNDED_LABELS, (name, labels)
        assert not any("customer-" in value for value in labels.values()), (name, labels)


def test_the_number_of_series_does_not_grow_with_customers() -> None:
    assert len(series(busy_metrics(5))) == len(series(busy_metrics(50)))


def tp(topic: str, partition: int) -> TP:
    return TP(topic, partition)


@pytest.mark.parametrize(
    ("ends", "positions", "expected"),
    [
        # Nothing assigned yet: every input topic still reports, at zero.
        ({}, {}, {"purchases": 0, "visits": 0}),
        # Lag adds up over the partitions of a topic.
        (
            {tp("visits", 0): 10, tp("visits", 1): 7},
            {tp("visits", 0): 4, tp("visits", 1): 7},
            {"purchases": 0, "visits": 6},
        ),
        # A partition whose position is unknown yet is left out rather than guessed.
        ({tp("purchases", 0): 5}, {tp("purchases", 0): None}, {"purchases": 0, "visits": 0}),
        # A position past a short end offset (Tansu, multi-record batch) is no lag, not negative lag.
        ({tp("purchases", 0): 3}, {tp("purchases", 0): 5}, {"purchases": 0, "visits": 0}),
        # Partitions of other topics (the changelog) are not input lag.
        ({tp("changelog", 0): 100}, {tp("changelog", 0): 0}, {"purchases": 0, "visits": 0}),
    ],
)
def test_lag_is_end_offset_minus_position_per_input_topic(ends, positions, expected) -> None:
    assert lag_by_topic(["purchases", "visits"], ends, positions) == expected
