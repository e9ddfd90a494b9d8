"""A data-protection request: the customer's state, snapshot and future scores go; nobody else's do."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from schemas.events import PurchaseEvent
from schemas.outputs import ScoreUpdate
from streams.kafka.codecs import decode_state
from streams.snapshot.keys import customer_key, ranking_key
from streams.state.tables import STATE_TABLE
from tests.factories import purchase, visit
from tests.integration.workers import read_all
from tests.waiting import eventually, until


def records_of(run, topic: str, key: bytes) -> list:
    """The records under `key` on `topic` as of now."""
    return [r for r in read_all(run.stack.bootstrap, [topic]) if r.key == key]


def erased_count(run) -> float | None:
    """Events dropped as erased, per the worker's metrics; None while its web server is not up."""
    try:
        text = run.metrics()
    except OSError:
        return None
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("healthscore_events_total{") and 'outcome="erased"' in line
    )


def test_an_erased_customer_loses_state_snapshot_and_future_scores_and_stays_erased(deploy) -> None:
    run = deploy(HEALTHSCORE_INACTIVITY_TIMER="false")
    alice, bob = f"alice-{run.name}", f"bob-{run.name}"
    history = [purchase(alice, 0, 120.0), visit(alice, 2), purchase(bob, 1, 40.0), visit(bob, 3)]
    run.publish(
        [(run.settings.topic_for(e.kind), e.customer_id.encode(), e.model_dump_json().encode()) for e in history]
    )
    run.read(run.settings.topic_scores, count=len(history))
    db = run.redis()
    assert until(lambda: db.exists(customer_key(run.settings.redis_prefix, alice))), "alice's snapshot in Redis"

    # The CLI a privacy officer would use.
    env = {**os.environ, **run.stack.env(), **run.env}
    sent = subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", "erase", alice, "--reason", "DSR-2026-117"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    assert "erasure request" in sent.stdout

    assert until(lambda: not db.exists(customer_key(run.settings.redis_prefix, alice))), "alice's snapshot deleted"
    assert db.zscore(ranking_key(run.settings.redis_prefix), alice) is None
    assert db.exists(customer_key(run.settings.redis_prefix, bob))  # nobody else is touched
    # Score consumers get a tombstone after alice's last update; the state table's changelog one too.
    assert until(lambda: records_of(run, run.settings.topic_scores, alice.encode())[-1].value is None), (
        "a scores tombstone"
    )
    changelog = f"{run.settings.app_id}-{STATE_TABLE}-changelog"
    assert until(lambda: records_of(run, changelog, alice.encode())[-1].value is None), "a changelog tombstone"

    # An old event of alice's, redelivered or still queued, is not scored; bob's is.
    late = [purchase(alice, 5, 80.0), purchase(bob, 5, 30.0)]
    run.publish([(run.settings.topic_purchases, e.customer_id.encode(), e.model_dump_json().encode()) for e in late])
    assert until(lambda: erased_count(run) == 1.0), "the old event counted as erased"
    scores = [
        ScoreUpdate.model_validate_json(r.value)
        for r in run.read(run.settings.topic_scores, count=6)
        if r.value is not None
    ]
    assert {u.event_id for u in scores if u.customer_id == alice} == {history[0].event_id, history[1].event_id}
    assert late[1].event_id in {u.event_id for u in scores}

    # The erasure survives a restart: the suppression list is a changelog-backed table too.
    run.restart()
    run.publish([(run.settings.topic_purchases, alice.encode(), purchase(alice, 6).model_dump_json().encode())])
    assert until(lambda: erased_count(run) == 1.0, timeout=60), "the old event after restart counted as erased"

    # Activity after the request starts a new customer, from nothing.
    comeback = PurchaseEvent(
        event_id="after-erasure",
        customer_id=alice,
        amount=15.0,
        occurred_at=datetime.now(timezone.utc) + timedelta(minutes=1),
    )
    run.publish([(run.settings.topic_purchases, alice.encode(), comeback.model_dump_json().encode())])
    assert until(lambda: db.exists(customer_key(run.settings.redis_prefix, alice))), "alice scored again as new"
    update = ScoreUpdate.model_validate_json(db.hget(customer_key(run.settings.redis_prefix, alice), "update"))
    assert update.event_id == "after-erasure" and update.previous_score is None
    newest = eventually(lambda: records_of(run, changelog, alice.encode())[-1].value, lambda value: value is not None)
    assert newest is not None, "alice's new state in the changelog"
    state = decode_state(newest)
    assert (
        state.event_count == state.purchase_count == 1 and state.total_spend_amount == 15.0 and state.visit_count == 0
    )

    # Nothing identifying alice was logged at INFO, by healthscore or Faust.
    assert alice not in run.log.read_text()
