"""No valid or invalid record is ever lost: oversized and conflicting records are dead-lettered once, early
and late events are scored, and a batch or agent that fails, or a worker stopped mid-batch, loses nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import time
from collections import Counter

import pytest
from kafka import KafkaProducer

from schemas.outputs import DeadLetter, ScoreUpdate
from streams.kafka.codecs import DEAD_VALUE_BYTES
from streams.kafka.topics import topic_reader
from tests.factories import at, purchase, survey, visit
from tests.integration.exactness import (
    CDNOW_ENV,
    assert_exactly_the_offline_result,
    cdnow_purchases,
    wait_until_all_scored,
)
from tests.integration.worker_metrics import metric_total
from tests.waiting import eventually, until

LIMIT = 4096  # HEALTHSCORE_MAX_MESSAGE_BYTES for the size test
BROKER_MAX_BYTES = 3 * 1024 * 1024  # the test's producer may send records up to this


def padded(size: int, n: int) -> bytes:
    """A purchase of exactly `size` bytes, invalid only for its unknown padding field (or its size)."""
    body = {
        "kind": "purchase",
        "event_id": f"big-{n}",
        "customer_id": "big",
        "occurred_at": "2025-01-05T00:00:00Z",
        "amount": 1.0,
        "padding": "",
    }
    short = len(json.dumps(body).encode())
    return json.dumps({**body, "padding": "x" * (size - short)}).encode()


def test_records_of_any_size_are_dead_lettered_once_and_every_valid_event_around_them_is_scored(deploy) -> None:
    run = deploy(HEALTHSCORE_MAX_MESSAGE_BYTES=str(LIMIT), HEALTHSCORE_INACTIVITY_TIMER="false")
    topic = run.settings.topic_purchases
    sizes = [LIMIT // 2, LIMIT, 2 * LIMIT, 10 * LIMIT, 800 * 1024, 2 * 1024 * 1024]
    bad = [padded(size, n) for n, size in enumerate(sizes)]
    valid = [purchase(f"c-{n % 50}", n / 100, 10.0 + n % 7) for n in range(3000)]
    records = []
    for n, value in enumerate(bad):  # each bad record between valid ones, then the burst
        records += [
            (topic, b"big", value),
            *((topic, e.customer_id.encode(), e.model_dump_json().encode()) for e in valid[n * 5 : n * 5 + 5]),
        ]
    records += [(topic, e.customer_id.encode(), e.model_dump_json().encode()) for e in valid[len(bad) * 5 :]]
    producer = KafkaProducer(bootstrap_servers=run.stack.bootstrap, acks="all", max_request_size=BROKER_MAX_BYTES)
    for record_topic, key, value in records:
        producer.send(record_topic, key=key, value=value)
    producer.flush()
    producer.close()

    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(valid))]
    letters = [DeadLetter.model_validate_json(r.value) for r in run.read(run.settings.topic_deadletter, len(bad))]
    assert Counter(u.event_id for u in updates) == Counter(e.event_id for e in valid)  # each scored once
    assert len(letters) == len(bad)
    by_digest = {letter.value_sha256: letter for letter in letters}
    for size, value in zip(sizes, bad, strict=True):
        letter = by_digest[hashlib.sha256(value).hexdigest()]
        assert letter.error == ("too_large" if size > LIMIT else "validation"), (size, letter.reason)
        assert letter.value_length == size and letter.key_length == 3
        assert base64.b64decode(letter.value_base64) == value[:DEAD_VALUE_BYTES]
        assert letter.value_truncated == (size > DEAD_VALUE_BYTES)
    assert metric_total(run.settings.web_port, "healthscore_dead_letters_total", error="too_large") == 4
    assert metric_total(run.settings.web_port, "healthscore_batch_failures_total") == 0
    assert "Traceback" not in run.log.read_text()


def test_early_late_old_and_conflicting_events_each_get_what_they_deserve(deploy) -> None:
    run = deploy(HEALTHSCORE_TIMER_SECONDS="0.2")  # the defaults otherwise: surveys need no known customer
    topics = {kind: topic for topic, kind in run.settings.input_topics().items()}

    def record(event, value: bytes | None = None):
        return topics[event.kind], event.customer_id.encode(), value or event.model_dump_json().encode()

    # A survey before anything else of its customer is data: scored as the customer's first event.
    early = survey("early", 1, "nps", 4)
    first = purchase("quiet", 0, 80.0, event_id="quiet-first")
    quiet = [
        first,
        *(purchase("quiet", d, 80.0) for d in range(5, 31, 5)),
        *(visit("quiet", d) for d in range(0, 31, 3)),
    ]
    run.publish([record(early), *(record(e) for e in sorted(quiet, key=lambda e: e.occurred_at))])
    updates = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(quiet) + 1)]
    assert any(u.event_id == early.event_id and u.customer_id == "early" for u in updates)

    # Another customer's event 70 days later moves the clock: the timer scores "quiet" down.
    run.publish([record(visit("beacon", 100))])

    def by_the_timer() -> list[ScoreUpdate]:
        nonlocal updates
        found = [u for u in updates if u.customer_id == "quiet" and u.cause == "timer"]
        if not found:
            read = run.read(run.settings.topic_scores, len(updates) + 1)
            updates = [ScoreUpdate.model_validate_json(r.value) for r in read]
        return found

    timed = eventually(by_the_timer, bool, timeout=30, interval=0)
    assert timed, "the timer published nothing for the silent customer"
    assert timed[-1].scored_at == at(100)

    # A late visit folds in without moving the customer's clock back to day 20; a visit of 1970 is refused;
    # a redelivery is a quiet duplicate, another payload under a known id a dead letter.
    late = visit("quiet", 20, 60.0)
    year_one = json.loads(visit("quiet", 0).model_dump_json()) | {"occurred_at": "1970-01-01T00:00:00Z"}
    conflicting = json.loads(first.model_dump_json()) | {"amount": 999.0}
    run.publish(
        [
            record(late),
            (topics["visit"], b"quiet", json.dumps(year_one).encode()),
            record(first),
            (topics["purchase"], b"quiet", json.dumps(conflicting).encode()),
        ]
    )
    scores = [ScoreUpdate.model_validate_json(r.value) for r in run.read(run.settings.topic_scores, len(updates) + 1)]
    late_update = next(u for u in scores if u.event_id == late.event_id)
    assert late_update.scored_at == at(100)
    assert late_update.tier == timed[-1].tier and abs(late_update.score - timed[-1].score) < 5
    letters = [DeadLetter.model_validate_json(r.value) for r in run.read(run.settings.topic_deadletter, 2)]
    assert sorted(letter.error for letter in letters) == ["conflicting_duplicate", "too_old"]
    assert all(u.event_id != first.event_id for u in scores[len(quiet) + 1 :])  # the redelivery published nothing
    assert metric_total(run.settings.web_port, "healthscore_events_total", kind="purchase", outcome="duplicate") == 1


@pytest.mark.parametrize("fault", ["batch", "agent"])
def test_a_batch_or_agent_that_fails_midway_loses_nothing_and_every_later_record_is_scored(deploy, fault) -> None:
    events = cdnow_purchases(800)
    run = deploy(
        "tests.integration.faulty_worker",
        HEALTHSCORE_INACTIVITY_TIMER="false",
        **CDNOW_ENV,
        HEALTHSCORE_TEST_FAULT=fault,
        HEALTHSCORE_TEST_FAULT_BATCH="3",
        HEALTHSCORE_BATCH_MAX_EVENTS="100",
    )
    run.publish([(run.settings.topic_purchases, e.customer_id.encode(), e.model_dump_json().encode()) for e in events])
    scores = topic_reader([run.stack.bootstrap], [run.settings.topic_scores])
    seen: list = []
    wait_until_all_scored(run, scores, seen, events)
    scores.close()
    assert "InjectedFault" in run.log.read_text()  # the fault did strike
    resent = assert_exactly_the_offline_result(run, events, seen)
    print(f"\n{fault} fault: {resent} updates re-sent")


def test_a_worker_stuck_in_a_batch_stops_within_its_shutdown_timeout_and_its_successor_loses_nothing(deploy) -> None:
    events = cdnow_purchases(800)
    run = deploy(
        "tests.integration.faulty_worker",
        HEALTHSCORE_INACTIVITY_TIMER="false",
        **CDNOW_ENV,
        HEALTHSCORE_TEST_FAULT="hang",
        HEALTHSCORE_TEST_FAULT_BATCH="3",
        HEALTHSCORE_BATCH_MAX_EVENTS="100",
        HEALTHSCORE_SHUTDOWN_TIMEOUT_SECONDS="3",
    )
    run.publish([(run.settings.topic_purchases, e.customer_id.encode(), e.model_dump_json().encode()) for e in events])
    scores = topic_reader([run.stack.bootstrap], [run.settings.topic_scores])
    seen: list = []
    # Two batches done, the third stuck behind a backlog of the rest (however many records the first two took).
    assert until(lambda: "hangs (injected fault)" in run.log.read_text(), timeout=60), "the third batch never came"
    run.process.send_signal(signal.SIGTERM)
    stopping = time.monotonic()
    run.process.wait(timeout=60)
    took = time.monotonic() - stopping
    assert took < 3 + 5, f"the worker took {took:.1f} s to stop"  # the shutdown timeout + slack for the process to end

    run.restart(HEALTHSCORE_TEST_FAULT="none")
    wait_until_all_scored(run, scores, seen, events)
    scores.close()
    assert_exactly_the_offline_result(run, events, seen)
