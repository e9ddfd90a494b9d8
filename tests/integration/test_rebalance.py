"""Two workers share the group; one stops; the other takes its partitions, restores their state from the
changelog and carries on, with nothing lost and nothing counted twice."""

from __future__ import annotations

import os
import signal

import pytest

from streams.kafka.topics import topic_reader
from streams.tools.localstack import free_port, stop_process
from tests.integration.exactness import (
    CDNOW_ENV,
    assert_exactly_the_offline_result,
    cdnow_purchases,
    wait_until_all_scored,
)
from tests.integration.worker_metrics import metric_total
from tests.integration.workers import assigned
from tests.waiting import until

CUSTOMERS = 1000


def scored(port: int) -> float:
    return metric_total(port, "healthscore_events_total", outcome="scored")


@pytest.mark.parametrize(
    ("how", "store"),
    [(signal.SIGTERM, "memory://"), (signal.SIGKILL, "memory://"), (signal.SIGKILL, "rocksdb://")],
    ids=["sigterm", "kill-9", "kill-9-rocksdb"],
)
def test_the_survivor_of_two_workers_takes_over_and_ends_exactly_at_the_offline_result(deploy, tmp_path, how, store):
    events = cdnow_purchases(CUSTOMERS)
    first, rest = events[: len(events) // 2], events[len(events) // 2 :]
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false", HEALTHSCORE_STORE=store, **CDNOW_ENV)
    other_port = free_port()
    other_name = f"{run.name}-b"
    other = run.stack.start_worker(
        other_name, {**run.env, "HEALTHSCORE_WEB_PORT": str(other_port), "HEALTHSCORE_DATADIR": str(tmp_path / "b")}
    )
    other_log = run.stack.workdir / f"{other_name}.log"
    topic = run.settings.topic_purchases
    try:
        assert until(
            lambda: (
                assigned(run.log.read_text(), topic)
                and assigned(other_log.read_text(), topic)
                and assigned(run.log.read_text(), topic) | assigned(other_log.read_text(), topic) == {0, 1, 2, 3}
            ),
            timeout=60,
        ), "the two workers never shared the four partitions"
        shares = sorted(assigned(run.log.read_text(), topic)), sorted(assigned(other_log.read_text(), topic))

        run.publish([(topic, e.customer_id.encode(), e.model_dump_json().encode()) for e in first])
        scores = topic_reader([run.stack.bootstrap], [run.settings.topic_scores])
        seen: list = []
        wait_until_all_scored(run, scores, seen, first)
        by_worker = scored(run.settings.web_port), scored(other_port)
        assert all(n > 0 for n in by_worker), f"only one worker did work: {by_worker}"
        assert sum(by_worker) >= len(first)

        os.kill(other.pid, how)
        other.wait(timeout=30)
        assert until(lambda: assigned(run.log.read_text(), topic) == {0, 1, 2, 3}, timeout=60), (
            "the survivor never took over every partition"
        )
        run.publish([(topic, e.customer_id.encode(), e.model_dump_json().encode()) for e in rest])
        wait_until_all_scored(run, scores, seen, events)
        scores.close()
    finally:
        stop_process(other)
    resent = assert_exactly_the_offline_result(run, events, seen)
    print(
        f"\n{how.name} {store}: partitions {shares[0]} + {shares[1]}; scored {by_worker[0]:.0f} + {by_worker[1]:.0f} "
        f"of the first {len(first)}; {resent} updates re-sent after the takeover"
    )
