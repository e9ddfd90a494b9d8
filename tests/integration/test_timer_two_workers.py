"""The inactivity timer with two workers: each re-scores only the customers of its own partitions, and after a
handover the survivor's timer covers the partitions it took over, from their state restored from the changelog.

Event-time clock: a worker's `now` is the newest event time it has scored, so a "beacon" event on every
partition moves both workers' clocks; the silent ("quiet") customers then fall due on whichever worker owns them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.model_config import ScoringModel
from schemas.outputs import ChurnRiskAlert, ScoreUpdate
from scoring.pipeline import rescore_if_changed
from scoring.replay import replay
from streams.kafka.partitions import partition_of
from streams.kafka.topics import topic_reader
from streams.tools.localstack import free_port, stop_process
from tests.factories import published, purchase, visit
from tests.integration.exactness import wait_until_all_scored
from tests.integration.worker_metrics import metric_total
from tests.integration.workers import assigned, records, take
from tests.waiting import until, watch

PARTITIONS = 4
PER_PARTITION = 3


def quiet_customers() -> list[str]:
    """PER_PARTITION customer ids on each of the four partitions."""
    found: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
    n = 0
    while any(len(ids) < PER_PARTITION for ids in found.values()):
        cid = f"quiet-{n}"
        if len(found[partition_of(cid.encode(), PARTITIONS)]) < PER_PARTITION:
            found[partition_of(cid.encode(), PARTITIONS)].append(cid)
        n += 1
    return sorted(cid for ids in found.values() for cid in ids)


def beacons(day: int) -> list:
    """One visit on every partition at `day`: it moves the clock of whichever worker owns the partition."""
    ids = {partition_of(f"beacon-{day}-{n}".encode(), PARTITIONS): f"beacon-{day}-{n}" for n in range(64)}
    assert len(ids) == PARTITIONS
    return [visit(cid, day) for cid in ids.values()]


def timer_metric(port: int) -> float:
    return metric_total(port, "healthscore_timer_rescored_customers_total")


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_each_worker_times_its_own_customers_and_the_survivor_times_the_ones_it_took_over(deploy, tmp_path, store):
    quiet = quiet_customers()
    # Purchases only, on one topic: each customer's order, and so its score history, is that of the replay.
    history = sorted((purchase(cid, d, 80.0) for cid in quiet for d in range(0, 31, 5)), key=lambda e: e.occurred_at)
    # What the timer must publish for each silent customer: one re-score at day 45, one at day 100 on top of it.
    model, start = ScoringModel(), history[0].occurred_at
    expected: dict[str, list] = {}
    for cid, state in replay(history, model).states.items():
        at45 = rescore_if_changed(state, model, start + timedelta(days=45))
        at100 = rescore_if_changed(at45.state, model, start + timedelta(days=100))
        assert at45.update is not None and at100.update is not None  # the score moves both times
        expected[cid] = [at45, at100]

    run = deploy(HEALTHSCORE_TIMER_SECONDS="0.2", HEALTHSCORE_STORE=store)
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}
    other_port, other_name = free_port(), f"{run.name}-b"
    other = run.stack.start_worker(
        other_name, {**run.env, "HEALTHSCORE_WEB_PORT": str(other_port), "HEALTHSCORE_DATADIR": str(tmp_path / "b")}
    )
    other_log = run.stack.workdir / f"{other_name}.log"
    purchases = run.settings.topic_purchases
    scores = topic_reader([run.stack.bootstrap], [run.settings.topic_scores])
    seen: list = []

    def timed() -> dict[str, list[ScoreUpdate]]:
        updates = [ScoreUpdate.model_validate_json(r.value) for r in seen]
        return {cid: [u for u in updates if u.customer_id == cid and u.cause == "timer"] for cid in quiet}

    def until_timed(count: int) -> None:
        def done() -> bool:
            take(scores, seen)
            return all(len(updates) >= count for updates in timed().values())

        assert until(done, timeout=60, interval=0), f"not every silent customer re-scored {count} time(s) by a timer"
        # Nothing to wait for: watching that no second worker re-scores the same customers (the test's own check).
        watch(lambda: take(scores, seen), 2.0, interval=0)

    try:
        assert until(
            lambda: (
                assigned(run.log.read_text(), purchases)
                and assigned(other_log.read_text(), purchases)
                and assigned(run.log.read_text(), purchases) | assigned(other_log.read_text(), purchases)
                == set(range(PARTITIONS))
            ),
            timeout=60,
        ), "the two workers never shared the four partitions"
        run.publish(records(topics, history))
        wait_until_all_scored(run, scores, seen, history)
        assert not any(timed().values()), "a customer was re-scored before any time passed"

        # Day 45 on every partition: each worker's timer re-scores the customers of its own partitions, once.
        run.publish(records(topics, beacons(45)))
        until_timed(1)
        assert timer_metric(run.settings.web_port) > 0 and timer_metric(other_port) > 0, "one timer did nothing"
        for cid, updates in timed().items():
            assert updates == published([expected[cid][0].update]), cid

        # The second worker stops; the survivor takes its partitions and their customers' state.
        stop_process(other)
        assert until(lambda: assigned(run.log.read_text(), purchases) == set(range(PARTITIONS)), timeout=60), (
            "the survivor never took over every partition"
        )
        run.publish(records(topics, beacons(100)))
        until_timed(2)
        scores.close()
    finally:
        stop_process(other)
    # Day 100: every customer re-scored on top of its day-45 state, the taken-over ones too, and only once.
    for cid, updates in timed().items():
        assert updates == published([step.update for step in expected[cid]]), cid
    alerts = [ChurnRiskAlert.model_validate_json(r.value) for r in run.read(run.settings.topic_alerts, 1)]
    timer_alerts = {a.alert_id: a for a in alerts if a.customer_id in expected and a.event_id is None}
    want = {a.alert_id: a for steps in expected.values() for step in steps for a in published(list(step.alerts))}
    assert timer_alerts == want
