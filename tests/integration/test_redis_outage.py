"""Redis down mid-stream: scoring and topics carry on, the errors are counted and logged without
flooding the log, and the snapshot catches up with the latest scores once Redis is back."""

from __future__ import annotations

import re

from schemas.outputs import ScoreUpdate
from streams.snapshot.keys import customer_key, ranking_key
from tests.factories import purchase, visit
from tests.integration.worker_metrics import metric_total
from tests.waiting import until

# Failed flushes to see before Redis comes back: about a second of them (five a second), so that the log's
# one line when they start and one when they end is checked against more than one failure.
FAILED_FLUSHES = 5


def test_a_redis_outage_blocks_nothing_and_the_snapshot_catches_up(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}

    def send(events) -> None:
        run.publish([(topics[e.kind], e.customer_id.encode(), e.model_dump_json().encode()) for e in events])

    before = [purchase(f"r{n}", 0, 30.0) for n in range(5)]
    send(before)
    run.read(run.settings.topic_scores, len(before))
    run.stack.stop_redis()  # a restart loses Redis's data too: only what is still queued can come back
    try:
        during = [visit(f"r{n}", 1) for n in range(5)] + [purchase(f"r{n}", 2, 60.0) for n in range(5, 10)]
        send(during)
        updates = run.read(run.settings.topic_scores, len(before) + len(during), timeout=30)
        assert len(updates) == len(before) + len(during), "scoring waited for Redis"  # Redis is still down
        assert until(lambda: write_errors(run) >= FAILED_FLUSHES, timeout=30), write_errors(run)
    finally:
        run.stack.start_redis()

    latest = {u.customer_id: u for u in (ScoreUpdate.model_validate_json(r.value) for r in updates)}
    client = run.redis()
    prefix = run.settings.redis_prefix

    def caught_up() -> bool:
        stored = {cid: client.hget(customer_key(prefix, cid), "update") for cid in latest}
        return all(v is not None and ScoreUpdate.model_validate_json(v) == latest[cid] for cid, v in stored.items())

    assert until(caught_up, timeout=20), "the Redis snapshot did not catch up with the latest scores"
    assert client.zcard(ranking_key(prefix)) == 10
    # Seconds of failed flushes (five a second) are one line when they start and one when they end.
    log = run.log.read_text()
    assert log.count("Redis write failed, will retry") == 1 and "Redis writes still failing" not in log, log[-3000:]
    assert len(re.findall(r"Redis writes succeed again, after \d+ failed attempts over \d+s", log)) == 1


def write_errors(run) -> float:
    return metric_total(run.settings.web_port, "healthscore_redis_write_errors_total")
